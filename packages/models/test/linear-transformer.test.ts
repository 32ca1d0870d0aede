import { expect, it } from 'vitest';
import { Registry } from '@tdx/core';
import {
  isAuditedKernel,
  fdHessianVectorProduct,
  relativeError,
  gradFlat,
  hvpFlat,
  Rng,
  tf,
  useBackend,
  type LossFunction,
  type Model,
  type ModelBuilder,
  exactnessBackends,
} from '@tdx/tensor';
import { describe } from 'vitest';
import { buildLinearTransformer, linearTransformerBlockName, register } from '../src/index.js';
import { iclBatch } from './support/icl-data.js';

type Matrix = number[][];
const matmul = (a: Matrix, b: Matrix): Matrix =>
  a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const transpose = (a: Matrix): Matrix => a[0]!.map((_, j) => a.map((row) => row[j]!));

/** Float64 reference in the paper's column convention: Z <- Z + (1/n) Σ_h P_h Z M Zᵀ Q_h Z. */
function referencePrediction(
  model: Model,
  z: number[][],
  layers: number,
  heads: number,
  sparse: boolean,
): number {
  const n = z.length - 1;
  const d = z[0]!.length - 1;
  const read = (name: string): Matrix => {
    const v = model.params.block(name).variable.arraySync() as Matrix;
    return v;
  };
  const embed = (m: Matrix, isP: boolean): Matrix =>
    sparse
      ? Array.from({ length: d + 1 }, (_, i) =>
          Array.from({ length: d + 1 }, (_, j) =>
            i < d && j < d ? m[i]![j]! : isP && i === d && j === d ? 1 : 0,
          ),
        )
      : m;
  let Z = transpose(z); // (d+1) x (n+1), tokens as columns
  for (let l = 0; l < layers; l++) {
    const ZM = Z.map((row) => row.map((v, j) => (j < n ? v : 0)));
    let update = Z.map((row) => row.map(() => 0));
    for (let h = 0; h < heads; h++) {
      const P = embed(read(linearTransformerBlockName(l, h, 'P')), true);
      const Q = embed(read(linearTransformerBlockName(l, h, 'Q')), false);
      const term = matmul(matmul(matmul(P, ZM), transpose(Z)), matmul(Q, Z));
      update = update.map((row, i) => row.map((v, j) => v + term[i]![j]!));
    }
    Z = Z.map((row, i) => row.map((v, j) => v + update[i]![j]! / n));
  }
  return -Z[d]![n]!;
}

for (const backend of exactnessBackends()) {
  describe(`linear-transformer [${backend}]`, () => {
    it("matches a float64 reference of the paper's formula, both parameterisations, several heads", async () => {
      await useBackend(backend);
      for (const parameterization of ['sparse', 'full'] as const) {
        const data = iclBatch(1, 3, 4, 6);
        const model = buildLinearTransformer(
          { layers: 2, heads: 2, initStd: 0.3, parameterization },
          data.info,
          5,
        );
        const predicted = tf.tidy(() =>
          Array.from(model.predict(model.params.values(), data.batch.inputs).dataSync()),
        );
        data.z.forEach((z, b) => {
          const ref = referencePrediction(model, z, 2, 2, parameterization === 'sparse');
          expect(Math.abs(predicted[b]! - ref)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref)));
        });
        model.dispose();
        tf.dispose([data.batch.inputs, data.batch.targets]);
      }
    });

    it('has 2·L·H·d² parameters (sparse) or 2·L·H·(d+1)² (full)', async () => {
      await useBackend(backend);
      const info = iclBatch(1, 1, 5, 20).info;
      const sparse = buildLinearTransformer(
        { layers: 3, heads: 1, initStd: 0.05, parameterization: 'sparse' },
        info,
        0,
      );
      const full = buildLinearTransformer(
        { layers: 3, heads: 2, initStd: 0.05, parameterization: 'full' },
        info,
        0,
      );
      expect(sparse.params.size).toBe(150);
      expect(full.params.size).toBe(2 * 3 * 2 * 36);
      expect(sparse.params.select({ role: 'attention' }).names).toEqual([
        'layers.0.heads.0.Q',
        'layers.1.heads.0.Q',
        'layers.2.heads.0.Q',
      ]);
      sparse.dispose();
      full.dispose();
    });

    it('reaches the closed-form optimum of one layer: loss d(d+1)/(n+d+1) at Q* = -n/(n+d+1) I', async () => {
      await useBackend(backend);
      const d = 5;
      const n = 20;
      const data = iclBatch(7, 20000, d, n);
      const model = buildLinearTransformer(
        { layers: 1, heads: 1, initStd: 0.05, parameterization: 'sparse' },
        data.info,
        0,
      );
      const qStar = Array.from({ length: d * d }, (_, i) =>
        i % (d + 1) === 0 ? -n / (n + d + 1) : 0,
      );
      model.params.select({ role: 'attention' }).assign(qStar);
      const loss = tf.tidy(() => model.loss(model.params.values(), data.batch).dataSync()[0]!);
      // 1.1538 for d = 5, n = 20; 20000 prompts give about 2% standard error.
      expect(Math.abs(loss / ((d * (d + 1)) / (n + d + 1)) - 1)).toBeLessThan(0.06);
      // ...and it is a stationary point: the gradient there is small next to the gradient at 0.
      const g = gradFlat((v) => model.loss(v, data.batch), model.params).grad;
      const norm = Math.hypot(...g);
      model.params.select({ role: 'attention' }).assign(new Float32Array(d * d));
      const g0 = Math.hypot(...gradFlat((v) => model.loss(v, data.batch), model.params).grad);
      expect(norm).toBeLessThan(0.05 * g0);
      model.dispose();
      tf.dispose([data.batch.inputs, data.batch.targets]);
    });

    it('gives P of a single sparse layer a zero gradient (it only matters for later layers)', async () => {
      await useBackend(backend);
      const data = iclBatch(3, 8, 3, 5);
      const model = buildLinearTransformer(
        { layers: 1, heads: 1, initStd: 0.2, parameterization: 'sparse' },
        data.info,
        1,
      );
      const g = gradFlat((v) => model.loss(v, data.batch), model.params, {
        wrt: model.params.select({ role: 'value' }),
      }).grad;
      expect(Array.from(g).every((x) => x === 0)).toBe(true);
      model.dispose();
      tf.dispose([data.batch.inputs, data.batch.targets]);
    });

    it('has exact Hessian-vector products: audited kernels only, symmetric, equal to finite differences', async () => {
      await useBackend(backend);
      const data = iclBatch(11, 16, 3, 6);
      const model = buildLinearTransformer(
        { layers: 3, heads: 1, initStd: 0.3, parameterization: 'sparse' },
        data.info,
        2,
      );
      const loss: LossFunction = (v) => model.loss(v, data.batch);
      const rng = new Rng(4);
      const u = rng.normalArray(model.params.size);
      const w = rng.normalArray(model.params.size);
      const profile = await tf.profile(() => {
        hvpFlat(loss, model.params, u);
      });

      const outside = profile.kernelNames.filter((k) => !isAuditedKernel(k, tf.getBackend()));
      expect(outside).toEqual([]);
      const Hu = hvpFlat(loss, model.params, u);
      const Hw = hvpFlat(loss, model.params, w);
      const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
        Array.from(a).reduce((s, x, i) => s + x * b[i]!, 0);
      expect(Math.abs(dot(w, Hu) - dot(u, Hw))).toBeLessThan(1e-4 * Math.abs(dot(w, Hu)));
      expect(relativeError(Hu, fdHessianVectorProduct(loss, model.params, u))).toBeLessThan(2e-3);

      model.dispose();
      tf.dispose([data.batch.inputs, data.batch.targets]);
    });
  });
}

it('refuses a dataset whose prompts do not have the [n+1, d+1] layout', async () => {
  await useBackend('cpu');
  const registry = register(Registry.create());
  const builder = registry.create<ModelBuilder>('model', { name: 'linear-transformer' });
  expect(() =>
    builder.build({ task: 'mnist', inputShape: [784], targetShape: [], meta: {} }),
  ).toThrow(/linear-transformer needs prompts of shape \[n \+ 1, d \+ 1\]/);
});
