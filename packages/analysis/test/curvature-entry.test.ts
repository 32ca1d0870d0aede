/**
 * curvature(model, batches) against independent references: quadratics whose Hessian is known
 * in closed form (eigenvalues, trace, block spectra), and a small tanh network whose dense
 * Hessian is built from finite differences of gradients (no Hessian-vector product involved),
 * eigendecomposed by ml-matrix; on every exactness backend.
 */
import { EigenvalueDecomposition, Matrix, QrDecomposition } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exactnessBackends,
  fdHessianVectorProduct,
  ParamSet,
  Rng,
  tf,
  useBackend,
  type Batch,
  type ParamValues,
  type Scalar,
} from '@tdx/tensor';
import { curvature, type CurvatureModel } from '../src/index.js';
import { smallNetwork } from './small-network.js';

const symmetricEigenvalues = (m: Matrix) =>
  new EigenvalueDecomposition(Matrix.add(m, m.transpose()).div(2), { assumeSymmetric: true })
    .realEigenvalues;

/** Q diag(λ) Qᵀ with a random orthogonal Q. */
function withSpectrum(spectrum: number[], rng: Rng): Matrix {
  const n = spectrum.length;
  const G = new Matrix(Array.from({ length: n }, () => Array.from(rng.normalArray(n))));
  const Q = new QrDecomposition(G).orthogonalMatrix;
  return Q.mmul(Matrix.diag(spectrum)).mmul(Q.transpose());
}

/**
 * ½ Σ_b x_bᵀ A_b x_b over blocks x_b (role mlp), whose Hessian is blockdiag(A_b) exactly; the
 * batch is not used. Dispose the parameters and matrices when done.
 */
function quadratic(matrices: Matrix[], seed: number) {
  const rng = new Rng(seed);
  const A = matrices.map((m) => tf.tensor2d(m.to2DArray()));
  const params = ParamSet.create(
    matrices.map((m, b) => ({
      name: `x${b}`,
      role: 'mlp',
      init: { values: rng.normalArray(m.rows), shape: [m.rows, 1] },
    })),
  );
  const model: CurvatureModel = {
    params,
    loss: (values: ParamValues) =>
      tf.tidy(
        () =>
          tf.mul(
            0.5,
            tf.addN(
              A.map((a, b) => tf.sum(tf.mul(values[`x${b}`]!, tf.matMul(a, values[`x${b}`]!)))),
            ),
          ) as Scalar,
      ),
  };
  const batch: Batch = { inputs: tf.zeros([1, 1]), targets: tf.zeros([1, 1]) };
  return {
    model,
    batch,
    dispose: () => (params.dispose(), tf.dispose([...A, batch.inputs, batch.targets])),
  };
}

for (const backend of exactnessBackends()) {
  describe(`curvature() on quadratics with a known Hessian [${backend}]`, () => {
    beforeAll(() => useBackend(backend));

    it('gives the exact eigenvalues of a rotated quadratic, and its trace exactly when diagonal', () => {
      const spectrum = [9, 4, 2.5, 1, 0.5, -0.75, -3];
      const q = quadratic([withSpectrum(spectrum, new Rng(1))], 1);
      const H = curvature(q.model, q.batch);
      expect(H.dimension).toBe(7);
      const top = H.topEigenvalues(3, { steps: 7 });
      [9, 4, 2.5].forEach((l, i) => expect(Math.abs(top[i]! - l)).toBeLessThan(1e-5 * 9));
      expect(H.topEigenvalues()).toHaveLength(1);
      expect(H.topEigenvalues(1, { which: 'magnitude', steps: 7 })[0]).toBeCloseTo(9, 4);
      q.dispose();

      // Diagonal: vᵀDv = Σ d_i for every Rademacher v, so Hutchinson is exact with any probes.
      const d = new Matrix([
        [3, 0, 0, 0],
        [0, -1, 0, 0],
        [0, 0, 0.25, 0],
        [0, 0, 0, 2],
      ]);
      const diag = quadratic([d], 2);
      const trace = curvature(diag.model, [diag.batch]).trace({ probes: 5 });
      expect(trace.trace).toBeCloseTo(4.25, 5);
      expect(trace.standardError).toBeLessThan(1e-5);
      diag.dispose();
    });

    it('density: SLQ nodes are the eigenvalues when steps reach the dimension', () => {
      const spectrum = [5, 3, 2, 1, 0.5];
      const q = quadratic([withSpectrum(spectrum, new Rng(3))], 3);
      const d = curvature(q.model, q.batch).density({ probes: 3, steps: 5, seed: 4 });
      expect(d.quadratures).toHaveLength(3);
      for (const { nodes, weights } of d.quadratures) {
        [...nodes].sort((a, b) => b - a).forEach((x, i) => expect(x).toBeCloseTo(spectrum[i]!, 4));
        expect(weights.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 10);
      }
      const dt = d.grid[1]! - d.grid[0]!;
      expect(d.density.reduce((s, x) => s + x, 0) * dt).toBeCloseTo(1, 8);
      q.dispose();
    });

    it('blockwise: JS near 0 for blocks of one spectrum, near ln 2 for disjoint spectra', () => {
      const rng = new Rng(5);
      const same = [4, 3, 2, 1];
      const far = [40, 30, 20, 10];
      const q = quadratic(
        [withSpectrum(same, rng), withSpectrum(same, rng), withSpectrum(far, rng)],
        5,
      );
      const b = curvature(q.model, q.batch).blockwise({ steps: 4, probes: 4, sigma: 0.05 });
      expect(b.blocks.map((x) => [x.name, x.dimension])).toEqual([
        ['x0', 4],
        ['x1', 4],
        ['x2', 4],
      ]);
      expect(b.matrix[0]![1]).toBeLessThan(0.05);
      expect(b.matrix[0]![2]).toBeCloseTo(Math.LN2, 3);
      expect(b.matrix[1]![2]).toBeCloseTo(Math.LN2, 3);
      expect(b.js0).toBeCloseTo((b.matrix[0]![1]! + b.matrix[0]![2]! + b.matrix[1]![2]!) / 3, 12);
      q.dispose();
    });
  });

  describe(`curvature() on a small network against finite differences [${backend}]`, () => {
    let net: ReturnType<typeof smallNetwork>;
    let model: CurvatureModel;
    let H: Matrix;
    let exact: number[];
    beforeAll(async () => {
      await useBackend(backend);
      net = smallNetwork(7);
      model = { params: net.params, loss: (values, batch) => net.lossOn(batch)(values) };
      // Column j: H e_j from central differences of gradients (Richardson), no autodiff HVP.
      const loss = net.lossOn(net.evalBatch);
      H = new Matrix(
        Array.from({ length: net.params.size }, (_, j) => {
          const e = new Float64Array(net.params.size);
          e[j] = 1;
          return Array.from(fdHessianVectorProduct(loss, net.params, e));
        }),
      );
      exact = [...symmetricEigenvalues(H)].sort((a, b) => b - a);
    });
    afterAll(() => net.dispose());

    it('top eigenvalues and trace', () => {
      const C = curvature(model, net.evalBatch);
      expect(C.dimension).toBe(42);
      const top = C.topEigenvalues(3);
      top.forEach((l, i) => expect(Math.abs(l - exact[i]!)).toBeLessThan(1e-4 * exact[0]!));
      const trace = C.trace({ probes: 300, seed: 2 });
      const exactTrace = exact.reduce((s, x) => s + x, 0);
      expect(Math.abs(trace.trace - exactTrace)).toBeLessThan(4 * trace.standardError + 1e-3);
    });

    it('density: its distribution function follows the exact eigenvalues', () => {
      const d = curvature(model, [net.evalBatch]).density({
        probes: 20,
        steps: 42,
        start: 'rademacher',
      });
      for (const t of [-0.01, 0, 0.01, 0.05, 0.2]) {
        const cdf = exact.filter((x) => x <= t).length / exact.length;
        const slq =
          d.quadratures.reduce(
            (s, q) => s + q.nodes.reduce((a, x, j) => a + (x <= t ? q.weights[j]! : 0), 0),
            0,
          ) / 20;
        expect(Math.abs(slq - cdf)).toBeLessThan(0.12);
      }
    });

    it('blockwise: each block spans the spectrum of its principal sub-matrix', () => {
      const b = curvature(model, net.evalBatch).blockwise({ exclude: [], steps: 24, probes: 2 });
      const offsets: Record<string, number[]> = {
        'layer.weight': [0, 24],
        'layer.bias': [24, 30],
        'head.weight': [30, 42],
      };
      expect(b.blocks.map((x) => x.name)).toEqual(Object.keys(offsets));
      for (const block of b.blocks) {
        const [from, to] = offsets[block.name]!;
        const idx = Array.from({ length: to! - from! }, (_, i) => from! + i);
        const sub = new Matrix(idx.map((i) => idx.map((j) => H.get(i, j))));
        const eig = symmetricEigenvalues(sub);
        const nodes = block.quadratures.flatMap((q) => q.nodes);
        // Lanczos run to the block's dimension finds its extreme eigenvalues.
        expect(Math.abs(Math.max(...nodes) - Math.max(...eig))).toBeLessThan(1e-4 * exact[0]!);
        expect(Math.abs(Math.min(...nodes) - Math.min(...eig))).toBeLessThan(1e-4 * exact[0]!);
      }
      expect(b.matrix.every((row, i) => row[i] === 0)).toBe(true);
    });
  });
}
