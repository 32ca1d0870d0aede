/**
 * `linear-transformer` with `scores: 'relu'` (Ahn et al.'s ReLU attention). References: a
 * float64 host implementation of (1/n) P̃ Z M relu(Zᵀ Q̃ Z) in the paper's column convention,
 * two closed forms (non-negative scores: the linear model exactly; non-positive scores: no
 * update at all), and central finite differences for gradients and Hessian-vector products
 * along directions on which no score changes sign within the step.
 */
import { describe, expect, it } from 'vitest';
import {
  exactnessBackends,
  fdDirectionalDerivative,
  fdHessianVectorProduct,
  gradFlat,
  hvpFlat,
  relativeError,
  Rng,
  tf,
  useBackend,
  type Batch,
  type LossFunction,
  type Model,
} from '@tdx/tensor';
import { buildLinearTransformer, linearTransformerBlockName } from '../src/index.js';
import { expectExactHvp } from './support/checks.js';
import { iclBatch } from './support/icl-data.js';

type Matrix = number[][];
const matmul = (a: Matrix, b: Matrix): Matrix =>
  a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const transpose = (a: Matrix): Matrix => a[0]!.map((_, j) => a.map((row) => row[j]!));

/**
 * Float64 reference, column convention: Z <- Z + Σ_h (1/n) P̃_h Z M relu(Zᵀ Q̃_h Z), prediction
 * -Z[d, n]. Every score S[i][j] with a key i < n (the ones the ReLU decides) goes to `scores`.
 */
function reference(
  model: Model,
  prompt: Matrix,
  layers: number,
  heads: number,
  sparse: boolean,
  scores?: number[],
): number {
  const n = prompt.length - 1;
  const d = prompt[0]!.length - 1;
  const read = (name: string) => model.params.block(name).variable.arraySync() as Matrix;
  const embed = (m: Matrix, isP: boolean): Matrix =>
    sparse
      ? Array.from({ length: d + 1 }, (_, i) =>
          Array.from({ length: d + 1 }, (_, j) =>
            i < d && j < d ? m[i]![j]! : isP && i === d && j === d ? 1 : 0,
          ),
        )
      : m;
  let Z = transpose(prompt);
  for (let l = 0; l < layers; l++) {
    const ZM = Z.map((row) => row.map((x, j) => (j < n ? x : 0)));
    let update = Z.map((row) => row.map(() => 0));
    for (let h = 0; h < heads; h++) {
      const P = embed(read(linearTransformerBlockName(l, h, 'P')), true);
      const Q = embed(read(linearTransformerBlockName(l, h, 'Q')), false);
      const S = matmul(matmul(transpose(Z), Q), Z); // S[i][j]: key i, query j
      S.slice(0, n).forEach((row) => scores?.push(...row));
      const A = S.map((row) => row.map((s) => Math.max(0, s) / n));
      const term = matmul(matmul(P, ZM), A);
      update = update.map((row, i) => row.map((x, j) => x + term[i]![j]!));
    }
    Z = Z.map((row, i) => row.map((x, j) => x + update[i]![j]!));
  }
  return -Z[d]![n]!;
}

const predictions = (model: Model, batch: Batch): number[] =>
  tf.tidy(() => Array.from(model.predict(model.params.values(), batch.inputs).dataSync()));
const disposeBatch = (batch: Batch) => tf.dispose([batch.inputs, batch.targets]);

/**
 * Finite differences over [w - h u, w + h u] see the derivatives only if no score crosses 0 on
 * that segment. The scores are polynomials in the step t along u; this checks that every score
 * keeps its sign and stays clear of 0 at t = ±h, ±h/2 and 0 (the reference at each point).
 */
function scoresKeepSign(
  model: Model,
  prompts: Matrix[],
  shape: [number, number, boolean],
  u: Float64Array,
  h: number,
): boolean {
  const w = model.params.flatten();
  const at = (t: number) => {
    model.params.assign(w.map((x, i) => x + t * u[i]!));
    const s: number[] = [];
    for (const p of prompts) reference(model, p, ...shape, s);
    return s;
  };
  try {
    const centre = at(0);
    return [-h, -h / 2, h / 2, h].every((t) =>
      at(t).every((s, k) => Math.sign(s) === Math.sign(centre[k]!) && Math.abs(centre[k]!) > 1e-5),
    );
  } finally {
    model.params.assign(w);
  }
}

/** Step of the finite differences: small, so that few scores lie within a step of their kink. */
const FD_STEP = 2e-3;

for (const backend of exactnessBackends()) {
  describe(`linear-transformer, relu scores [${backend}]`, () => {
    it('matches a float64 reference: sparse and full, L = 2, H = 2', async () => {
      await useBackend(backend);
      const data = iclBatch(31, 4, 3, 6);
      for (const sparse of [true, false]) {
        const model = buildLinearTransformer(
          {
            layers: 2,
            heads: 2,
            initStd: 0.3,
            scores: 'relu',
            parameterization: sparse ? 'sparse' : 'full',
          },
          data.info,
          8,
        );
        const scores: number[] = [];
        const predicted = predictions(model, data.batch);
        data.z.forEach((z, b) => {
          const ref = reference(model, z, 2, 2, sparse, scores);
          expect(Math.abs(predicted[b]! - ref)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref)));
        });
        // The ReLU is doing something: both signs occur among the scores.
        expect(scores.filter((s) => s < 0).length).toBeGreaterThan(scores.length / 5);
        expect(scores.filter((s) => s > 0).length).toBeGreaterThan(scores.length / 5);
        model.dispose();
      }
      disposeBatch(data.batch);
    });

    it('equals the linear model when every score is >= 0, and makes no update when every score is <= 0', async () => {
      // Sparse Q̃ sees the covariates only: with covariates >= 0 and Q >= 0 every score is >= 0
      // (relu is the identity), with Q <= 0 every score is <= 0 (relu gives 0: the prediction
      // stays minus the query's label slot, 0). Q ≥ 0 keeps Z's covariates non-negative in
      // later layers too, since P̃'s update then adds non-negative multiples of P x.
      await useBackend(backend);
      const data = iclBatch(32, 5, 3, 6);
      const inputs = tf.abs(data.batch.inputs);
      const batch = { inputs, targets: data.batch.targets };
      const options = { layers: 1, heads: 2, initStd: 0.4 } as const;
      const relu = buildLinearTransformer({ ...options, scores: 'relu' }, data.info, 3);
      const linear = buildLinearTransformer(options, data.info, 3);
      for (const model of [relu, linear]) {
        const q = model.params.select({ role: 'attention' });
        q.assign(q.flatten().map(Math.abs));
      }
      const expected = predictions(linear, batch);
      predictions(relu, batch).forEach((p, b) =>
        expect(Math.abs(p - expected[b]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected[b]!))),
      );
      expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.1);
      const q = relu.params.select({ role: 'attention' });
      q.assign(q.flatten().map((x) => -x));
      for (const p of predictions(relu, batch)) expect(Math.abs(p)).toBe(0);
      relu.dispose();
      linear.dispose();
      tf.dispose(inputs);
      disposeBatch(data.batch);
    });

    it('has exact gradients and Hessian-vector products where no score crosses 0 (sparse and full, L = 2, H = 2)', async () => {
      await useBackend(backend);
      const data = iclBatch(33, 2, 3, 5);
      for (const sparse of [true, false]) {
        const model = buildLinearTransformer(
          {
            layers: 2,
            heads: 2,
            initStd: 0.3,
            scores: 'relu',
            parameterization: sparse ? 'sparse' : 'full',
          },
          data.info,
          4,
        );
        // Audited kernels, symmetry and no leaks (finite differences below, on checked paths).
        await expectExactHvp(model, data.batch, { wrt: model.params.trainable() });
        const loss: LossFunction = (v) => model.loss(v, data.batch);
        const rng = new Rng(sparse ? 5 : 6);
        const valid = (u: Float64Array) =>
          scoresKeepSign(model, data.z, [2, 2, sparse], u, FD_STEP);
        const unit = () => {
          for (let attempt = 0; attempt < 50; attempt++) {
            const u = rng.normalArray(model.params.size);
            const norm = Math.hypot(...u);
            const direction = u.map((x) => x / norm);
            if (valid(direction)) return direction;
          }
          throw new Error('no finite-difference direction without a sign change in 50 draws');
        };
        const g = gradFlat(loss, model.params).grad;
        const gradNorm = Math.hypot(...g);
        for (let k = 0; k < 3; k++) {
          const u = unit();
          const exact = u.reduce((s, x, i) => s + x * g[i]!, 0);
          const fd = fdDirectionalDerivative(loss, model.params, u, FD_STEP);
          expect(Math.abs(exact - fd) / gradNorm).toBeLessThan(1e-3);
        }
        const u = unit();
        const error = relativeError(
          hvpFlat(loss, model.params, u),
          fdHessianVectorProduct(loss, model.params, u, FD_STEP),
          1e-4,
        );
        expect(error).toBeLessThan(5e-3);
        model.dispose();
      }
      disposeBatch(data.batch);
    });
  });
}
