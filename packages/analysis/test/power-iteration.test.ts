import { EigenvalueDecomposition, Matrix, QrDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Registry, type AnalysisInstance } from '@tdx/core';
import {
  hvpFlat,
  ParamSet,
  Rng,
  tf,
  useBackend,
  type AnalysisTarget,
  type Batch,
  type LossFunction,
  type Scalar,
  exactnessBackends,
} from '@tdx/tensor';
import { powerIteration, register } from '../src/index.js';

/** Q diag(λ) Qᵀ with a random orthogonal Q (from a QR factorisation). */
function withSpectrum(eigenvalues: number[], seed: number): Matrix {
  const n = eigenvalues.length;
  const rng = new Rng(seed);
  const G = new Matrix(Array.from({ length: n }, () => Array.from(rng.normalArray(n))));
  const Q = new QrDecomposition(G).orthogonalMatrix;
  return Q.mmul(Matrix.diag(eigenvalues)).mmul(Q.transpose());
}

const apply = (A: Matrix) => (v: Float64Array) =>
  Float64Array.from(A.mmul(Matrix.columnVector(Array.from(v))).getColumn(0));

describe('powerIteration', () => {
  it('finds the dominant eigenvalue of a matrix with a known spectrum', () => {
    const A = withSpectrum([10, 4, 3, -2, 1, 0.5, 0, -0.1], 1);
    const result = powerIteration(apply(A), 8, { tolerance: 1e-10, maxIterations: 500 });
    expect(result.converged).toBe(true);
    expect(result.eigenvalue).toBeCloseTo(10, 8);
    expect(result.residual).toBeLessThan(1e-4);
  });

  it('returns a negative eigenvalue when it dominates in magnitude', () => {
    const A = withSpectrum([-7, 3, 2, 1], 2);
    expect(
      powerIteration(apply(A), 4, { tolerance: 1e-10, maxIterations: 500 }).eigenvalue,
    ).toBeCloseTo(-7, 6);
  });

  it('agrees with a full eigendecomposition on a random symmetric matrix', () => {
    const rng = new Rng(3);
    const B = new Matrix(Array.from({ length: 30 }, () => Array.from(rng.normalArray(30))));
    const A = B.add(B.transpose());
    const eig = new EigenvalueDecomposition(A, { assumeSymmetric: true }).realEigenvalues;
    const dominant = eig.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);
    const result = powerIteration(apply(A), 30, { tolerance: 1e-12, maxIterations: 5000 });
    expect(result.eigenvalue).toBeCloseTo(dominant, 6);
  });

  it('reports non-convergence instead of pretending', () => {
    const A = withSpectrum([5, -4.999, 1], 4);
    const result = powerIteration(apply(A), 3, { tolerance: 1e-12, maxIterations: 5 });
    expect(result.converged).toBe(false);
    expect(result.iterations).toBe(5);
  });
});

describe('top-hessian-eigenvalue', () => {
  for (const backend of exactnessBackends()) {
    it(`equals the dominant eigenvalue of the dense Hessian of a tanh network [${backend}]`, async () => {
      await useBackend(backend);
      const rng = new Rng(9);
      const params = ParamSet.create([
        { name: 'W', role: 'mlp', init: { values: rng.normalArray(12, 0, 0.8), shape: [3, 4] } },
        { name: 'v', role: 'head', init: { values: rng.normalArray(3, 0, 0.8), shape: [3, 1] } },
      ]);
      const batch: Batch = {
        inputs: rng.normalTensor([10, 4]),
        targets: rng.normalTensor([10, 1]),
      };
      const lossOn =
        (b: Batch): LossFunction =>
        (p) =>
          tf.tidy(
            () =>
              tf.mean(
                tf.square(
                  tf.sub(
                    tf.matMul(tf.tanh(tf.matMul(b.inputs, p.W!, false, true)), p.v!),
                    b.targets,
                  ),
                ),
              ) as Scalar,
          );
      const dense = new Matrix(
        Array.from({ length: params.size }, (_, j) => {
          const e = new Float64Array(params.size);
          e[j] = 1;
          return Array.from(hvpFlat(lossOn(batch), params, e));
        }),
      );
      const symmetric = dense.add(dense.transpose()).div(2);
      const eig = new EigenvalueDecomposition(symmetric, { assumeSymmetric: true }).realEigenvalues;
      const dominant = eig.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);

      const target = {
        params,
        lossOn,
        analysisBatch: () => batch,
        step: 0,
      } as unknown as AnalysisTarget;
      const analysis = register(Registry.create()).create<AnalysisInstance>('analysis', {
        name: 'top-hessian-eigenvalue',
        tolerance: 1e-7,
        maxIterations: 1000,
      });
      const out = await analysis.run(target, { step: 0, seed: 1 });
      expect(out.data).toMatchObject({ converged: true, parameters: 15 });
      expect(Math.abs(out.value! - dominant)).toBeLessThan(1e-4 * Math.abs(dominant));
      params.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    });
  }
});
