/**
 * top-hessian-eigenvalues, one plugin for λ₁ … λ_k: its former name top-hessian-eigenvalue and
 * that plugin's keys still resolve (with a notice) and record what it recorded, λ₁ by power
 * iteration; by default Lanczos gives λ₁ of the dense Hessian.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type AnalysisInstance } from '@tdx/core';
import { exactnessBackends, hvpFlat, powerIteration, useBackend } from '@tdx/tensor';
import { denseMatrix, hessianOperator, register } from '../src/index.js';
import { smallNetwork } from './small-network.js';

const registry = register(createRegistry());
const problems = (ref: Record<string, unknown>) =>
  registry
    .check('analysis', { name: 'top-hessian-eigenvalues', ...ref }, 'analyses[0]')
    .problems.map((p) => `${p.path}: ${p.message}`);

describe('top-hessian-eigenvalues config', () => {
  it('accepts the former name with a notice, and k = 1 by Lanczos by default', () => {
    const { resolved, notices } = registry.check(
      'analysis',
      { name: 'top-hessian-eigenvalue' },
      'analyses[0]',
    );
    expect(notices).toEqual([
      'analyses[0].name: analysis "top-hessian-eigenvalue" is now called "top-hessian-eigenvalues"; the old name still works',
    ]);
    expect(resolved!.label).toBe('top-hessian-eigenvalue');
    expect(resolved!.config).toMatchObject({ k: 1, method: 'lanczos', which: 'largest' });
  });

  it('runs power iteration for the former keys maxIterations and tolerance', () => {
    const { resolved } = registry.check('analysis', {
      name: 'top-hessian-eigenvalue',
      maxIterations: 30,
    });
    expect(resolved!.config).toMatchObject({ k: 1, method: 'power', which: 'magnitude' });
  });

  it('refuses settings of one method given to the other', () => {
    expect(problems({ method: 'power', k: 3 })).toEqual([
      'analyses[0].k: power iteration finds one eigenvalue: use method: lanczos for k > 1',
    ]);
    expect(problems({ tolerance: 1e-6, which: 'largest' })).toHaveLength(1);
    expect(problems({ tolerance: 1e-6, steps: 30 })).toHaveLength(1);
    expect(problems({ method: 'lanczos', maxIterations: 50 })).toEqual([
      'analyses[0].maxIterations: maxIterations is for method: power; Lanczos runs `steps` steps',
    ]);
  });
});

for (const backend of exactnessBackends()) {
  describe(`top-hessian-eigenvalues on a small network [${backend}]`, () => {
    let net: ReturnType<typeof smallNetwork>;
    let exact: number[];
    beforeAll(async () => {
      await useBackend(backend);
      net = smallNetwork(2);
      const H = new Matrix(
        denseMatrix(hessianOperator(net.lossOn, net.params, [net.evalBatch])).map((c) =>
          Array.from(c),
        ),
      );
      exact = new EigenvalueDecomposition(Matrix.add(H, H.transpose()).div(2), {
        assumeSymmetric: true,
      }).realEigenvalues;
    });
    afterAll(() => net.dispose());

    it('records λ₁ of the dense Hessian by default', async () => {
      const out = await registry
        .create<AnalysisInstance>('analysis', { name: 'top-hessian-eigenvalues' })
        .run(net.target, { step: 0, seed: 1 });
      const largest = Math.max(...exact);
      expect(Math.abs(out.value! - largest)).toBeLessThan(1e-5 * largest);
      expect(out.data).toMatchObject({ eigenvalues: [out.value] });
    });

    it('under the former name and keys, records what top-hessian-eigenvalue did', async () => {
      const out = await registry
        .create<AnalysisInstance>('analysis', {
          name: 'top-hessian-eigenvalue',
          maxIterations: 500,
          tolerance: 1e-8,
        })
        .run(net.target, { step: 0, seed: 3 });
      // The former plugin: power iteration on hvpFlat of the analysis batch, seeded by the run.
      const loss = net.lossOn(net.evalBatch);
      const trainable = net.params.trainable();
      const former = powerIteration(
        (v) => hvpFlat(loss, net.params, v, { wrt: trainable }),
        trainable.size,
        { maxIterations: 500, tolerance: 1e-8, seed: 3 },
      );
      expect(out.value).toBe(former.eigenvalue);
      expect(out.data).toEqual({
        eigenvalues: [former.eigenvalue],
        iterations: former.iterations,
        converged: former.converged,
        residual: former.residual,
        parameters: trainable.size,
      });
      const dominant = exact.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);
      expect(Math.abs(out.value! - dominant)).toBeLessThan(1e-4 * Math.abs(dominant));
    });
  });
}
