/**
 * The comparison variants of `linear-transformer`: softmax attention and the covariate MLP.
 * References: a float64 host implementation of the formulas in the paper's column convention,
 * a closed form (uniform softmax weights), and central finite differences for gradients and
 * Hessian-vector products.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from '@tdx/core';
import {
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
  type ModelBuilder,
  withStockGradient,
  exactnessBackends,
} from '@tdx/tensor';
import {
  buildLinearTransformer,
  covariateMlpBlockNames,
  linearTransformerBlockName,
  register,
  type LinearTransformerOptions,
} from '../src/index.js';
import { expectExactHvp } from './support/checks.js';
import { iclBatch } from './support/icl-data.js';

type Matrix = number[][];
type Activation = 'relu' | 'tanh' | 'gelu';

const matmul = (a: Matrix, b: Matrix): Matrix =>
  a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const transpose = (a: Matrix): Matrix => a[0]!.map((_, j) => a.map((row) => row[j]!));

/** erf by its Taylor series (float64, |x| < 5), ±1 beyond (|1 - erf(5)| < 2e-12). */
function erf(x: number): number {
  if (Math.abs(x) >= 5) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let k = 1; k < 200; k++) {
    term *= (-x * x) / k;
    const next = term / (2 * k + 1);
    sum += next;
    if (Math.abs(next) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const activations: Record<Activation, (x: number) => number> = {
  relu: (x) => Math.max(0, x),
  tanh: Math.tanh,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
};

interface Variant {
  layers: number;
  heads: number;
  sparse: boolean;
  scores: 'linear' | 'softmax';
  scale?: number;
  mlp?: Activation;
}

/**
 * Float64 reference, column convention (Z is (d+1) x (n+1), the query last):
 *   covariate MLP: x_j <- W_outᵀ act(W_inᵀ x_j + b_in) + b_out for every token, labels kept;
 *   linear:  Z <- Z + Σ_h (1/n) P̃_h Z M Zᵀ Q̃_h Z;
 *   softmax: Z <- Z + Σ_h P̃_h Z M A_h, A_h[i, j] = softmax over i < n of (Zᵀ Q̃_h Z)[i, j] / s;
 *   prediction -Z[d, n].
 */
function referencePrediction(model: Model, prompt: Matrix, v: Variant): number {
  const n = prompt.length - 1;
  const d = prompt[0]!.length - 1;
  const read = (name: string) => model.params.block(name).variable.arraySync() as Matrix;
  const readVector = (name: string) => model.params.block(name).variable.arraySync() as number[];
  const embed = (m: Matrix, isP: boolean): Matrix =>
    v.sparse
      ? Array.from({ length: d + 1 }, (_, i) =>
          Array.from({ length: d + 1 }, (_, j) =>
            i < d && j < d ? m[i]![j]! : isP && i === d && j === d ? 1 : 0,
          ),
        )
      : m;
  let Z = transpose(prompt);
  if (v.mlp) {
    const act = activations[v.mlp];
    const wIn = read(covariateMlpBlockNames.inWeight); // [d, hidden]
    const bIn = readVector(covariateMlpBlockNames.inBias);
    const wOut = read(covariateMlpBlockNames.outWeight); // [hidden, d]
    const bOut = readVector(covariateMlpBlockNames.outBias);
    const columns = transpose(Z).map((token) => {
      const hidden = bIn.map((b, k) =>
        act(b + token.slice(0, d).reduce((s, x, a) => s + x * wIn[a]![k]!, 0)),
      );
      const mapped = bOut.map((b, c) => b + hidden.reduce((s, h, k) => s + h * wOut[k]![c]!, 0));
      return [...mapped, token[d]!];
    });
    Z = transpose(columns);
  }
  const scale = v.scale ?? Math.sqrt(d + 1);
  for (let l = 0; l < v.layers; l++) {
    const ZM = Z.map((row) => row.map((x, j) => (j < n ? x : 0)));
    let update = Z.map((row) => row.map(() => 0));
    for (let h = 0; h < v.heads; h++) {
      const P = embed(read(linearTransformerBlockName(l, h, 'P')), true);
      const Q = embed(read(linearTransformerBlockName(l, h, 'Q')), false);
      const S = matmul(matmul(transpose(Z), Q), Z); // (n+1) x (n+1), S[i][j]: key i, query j
      let term: Matrix;
      if (v.scores === 'linear') {
        term = matmul(matmul(P, ZM), S).map((row) => row.map((x) => x / n));
      } else {
        const A = S.map((row) => row.map(() => 0));
        for (let j = 0; j <= n; j++) {
          const logits = Array.from({ length: n }, (_, i) => S[i]![j]! / scale);
          const top = Math.max(...logits);
          const e = logits.map((s) => Math.exp(s - top));
          const total = e.reduce((a, b) => a + b, 0);
          e.forEach((x, i) => (A[i]![j] = x / total));
        }
        term = matmul(matmul(P, ZM), A);
      }
      update = update.map((row, i) => row.map((x, j) => x + term[i]![j]!));
    }
    Z = Z.map((row, i) => row.map((x, j) => x + update[i]![j]!));
  }
  return -Z[d]![n]!;
}

function options(
  v: Variant,
  extra: Partial<LinearTransformerOptions> = {},
): LinearTransformerOptions {
  return {
    layers: v.layers,
    heads: v.heads,
    initStd: 0.3,
    parameterization: v.sparse ? 'sparse' : 'full',
    scores: v.scores,
    ...(v.scale === undefined ? {} : { scale: v.scale }),
    ...(v.mlp ? { covariateMlp: { hidden: 5, activation: v.mlp } } : {}),
    ...extra,
  };
}

const disposeBatch = (batch: Batch) => tf.dispose([batch.inputs, batch.targets]);

/** The finite-difference step of @tdx/tensor's references (the coarse one of Richardson's pair). */
const FD_STEP = 1e-2;

/**
 * The gradient along three random unit directions u (error relative to |∇f|, since u·∇f is
 * small for a random u) and H u along one, each against central differences. `valid` rejects
 * directions along which finite differences do not see the derivative (a ReLU kink within
 * the step); the first valid random directions are used.
 */
function finiteDifferenceErrors(
  model: Model,
  batch: Batch,
  seed: number,
  valid: (u: Float64Array) => boolean = () => true,
): { grad: number; hvp: number } {
  const loss: LossFunction = (v) => model.loss(v, batch);
  const rng = new Rng(seed);
  const unit = () => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const u = rng.normalArray(model.params.size);
      const norm = Math.hypot(...u);
      const direction = u.map((x) => x / norm);
      if (valid(direction)) return direction;
    }
    throw new Error('no valid finite-difference direction in 50 draws');
  };
  const g = gradFlat(loss, model.params).grad;
  const gradNorm = Math.hypot(...g);
  let grad = 0;
  for (let k = 0; k < 3; k++) {
    const u = unit();
    const exact = u.reduce((s, x, i) => s + x * g[i]!, 0);
    const fd = fdDirectionalDerivative(loss, model.params, u, FD_STEP);
    grad = Math.max(grad, Math.abs(exact - fd) / gradNorm);
  }
  const direction = unit();
  const hvp = relativeError(
    hvpFlat(loss, model.params, direction),
    fdHessianVectorProduct(loss, model.params, direction, FD_STEP),
    1e-4,
  );
  return { grad, hvp };
}

/**
 * With ReLU, finite differences over a step h only see the Hessian when no pre-activation
 * changes sign on [w - h u, w + h u]. Pre-activations are affine in (W_in, b_in), so this is
 * exact: |pre(w)| > h |pre'(u)| for every token and hidden unit.
 */
function reluPatternIsFixed(model: Model, prompts: Matrix[], u: Float64Array, h: number): boolean {
  const names = model.params.names;
  const offsets = model.params.offsets();
  const part = (name: string) => {
    const at = offsets[names.indexOf(name)]!;
    return u.slice(at, at + model.params.block(name).size);
  };
  const wIn = model.params.block(covariateMlpBlockNames.inWeight).variable.arraySync() as Matrix;
  const bIn = model.params.block(covariateMlpBlockNames.inBias).variable.arraySync() as number[];
  const dW = part(covariateMlpBlockNames.inWeight);
  const db = part(covariateMlpBlockNames.inBias);
  const hidden = bIn.length;
  return prompts.every((prompt) =>
    prompt.every((token) =>
      bIn.every((b, k) => {
        const x = token.slice(0, -1);
        const pre = b + x.reduce((s, xa, a) => s + xa * wIn[a]![k]!, 0);
        const slope = db[k]! + x.reduce((s, xa, a) => s + xa * dW[a * hidden + k]!, 0);
        return Math.abs(pre) > h * Math.abs(slope);
      }),
    ),
  );
}

for (const backend of exactnessBackends()) {
  describe(`linear-transformer variants [${backend}]`, () => {
    it('softmax attention matches a float64 reference: both parameterisations, L = 2, H = 2, two scales', async () => {
      await useBackend(backend);
      const data = iclBatch(21, 4, 3, 6);
      for (const sparse of [true, false]) {
        for (const scale of [undefined, 0.7]) {
          const v: Variant = {
            layers: 2,
            heads: 2,
            sparse,
            scores: 'softmax',
            ...(scale === undefined ? {} : { scale }),
          };
          const model = buildLinearTransformer(options(v), data.info, 8);
          const predicted = tf.tidy(() =>
            Array.from(model.predict(model.params.values(), data.batch.inputs).dataSync()),
          );
          data.z.forEach((z, b) => {
            const ref = referencePrediction(model, z, v);
            expect(Math.abs(predicted[b]! - ref)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref)));
          });
          model.dispose();
        }
      }
      disposeBatch(data.batch);
    });

    it('the covariate MLP matches a float64 reference: each activation, linear and softmax attention', async () => {
      await useBackend(backend);
      const data = iclBatch(22, 4, 3, 6);
      const cases: Variant[] = [
        { layers: 2, heads: 2, sparse: true, scores: 'linear', mlp: 'relu' },
        { layers: 2, heads: 2, sparse: false, scores: 'linear', mlp: 'tanh' },
        { layers: 2, heads: 2, sparse: true, scores: 'softmax', mlp: 'gelu' },
        { layers: 1, heads: 3, sparse: false, scores: 'softmax', mlp: 'relu' },
      ];
      for (const v of cases) {
        const model = buildLinearTransformer(options(v), data.info, 9);
        const predicted = tf.tidy(() =>
          Array.from(model.predict(model.params.values(), data.batch.inputs).dataSync()),
        );
        data.z.forEach((z, b) => {
          const ref = referencePrediction(model, z, v);
          expect(Math.abs(predicted[b]! - ref)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref)));
        });
        model.dispose();
      }
      disposeBatch(data.batch);
    });

    it('softmax attention with Q = 0 weights the context uniformly: sparse P̃ then predicts -((1+H)^L - 1) times the mean label, whatever P', async () => {
      // Uniform weights and the fixed label row of P̃: every head adds the context's mean label
      // to every token, so that mean grows by (1+H) per layer and the query's label collects
      // H Σ_{l<L} (1+H)^l = (1+H)^L - 1 of the original mean.
      await useBackend(backend);
      const data = iclBatch(23, 5, 4, 7);
      for (const [layers, heads] of [
        [1, 1],
        [3, 2],
      ] as const) {
        const model = buildLinearTransformer(
          { layers, heads, initStd: 0.5, scores: 'softmax' },
          data.info,
          3,
        );
        const attention = model.params.select({ role: 'attention' });
        attention.assign(new Float32Array(attention.size));
        const predicted = tf.tidy(() =>
          Array.from(model.predict(model.params.values(), data.batch.inputs).dataSync()),
        );
        data.z.forEach((z, b) => {
          const mean = z.slice(0, -1).reduce((s, token) => s + token[4]!, 0) / 7;
          const expected = -((1 + heads) ** layers - 1) * mean;
          expect(Math.abs(predicted[b]! - expected)).toBeLessThan(
            1e-5 * Math.max(1, Math.abs(expected)),
          );
        });
        model.dispose();
      }
      disposeBatch(data.batch);
    });

    it('softmax attention (sparse and full, L = 2, H = 2) has exact gradients and Hessian-vector products', async () => {
      await useBackend(backend);
      const data = iclBatch(24, 8, 3, 5);
      for (const sparse of [true, false]) {
        const v: Variant = { layers: 2, heads: 2, sparse, scores: 'softmax' };
        const model = buildLinearTransformer(options(v), data.info, 4);
        await expectExactHvp(model, data.batch, { seed: 5 });
        const errors = finiteDifferenceErrors(model, data.batch, 6);
        expect(errors.grad).toBeLessThan(1e-3);
        expect(errors.hvp).toBeLessThan(2e-3);
        model.dispose();
      }
      disposeBatch(data.batch);
    });

    it('the covariate MLP with tanh and gelu (linear and softmax, L = 2, H = 2) has exact gradients and Hessian-vector products', async () => {
      await useBackend(backend);
      const data = iclBatch(25, 8, 3, 5);
      const cases: Variant[] = [
        { layers: 2, heads: 2, sparse: true, scores: 'linear', mlp: 'tanh' },
        { layers: 2, heads: 2, sparse: false, scores: 'softmax', mlp: 'gelu' },
      ];
      for (const v of cases) {
        const model = buildLinearTransformer(options(v), data.info, 5);
        await expectExactHvp(model, data.batch, { seed: 7 });
        const errors = finiteDifferenceErrors(model, data.batch, 8);
        expect(errors.grad).toBeLessThan(1e-3);
        expect(errors.hvp).toBeLessThan(2e-3);
        model.dispose();
      }
      disposeBatch(data.batch);
    });

    it('the ReLU covariate MLP (the default activation) has exact gradients and Hessian-vector products where its pattern is fixed', async () => {
      await useBackend(backend);
      const data = iclBatch(26, 4, 3, 5);
      const cases: Variant[] = [
        { layers: 2, heads: 2, sparse: true, scores: 'linear', mlp: 'relu' },
        { layers: 2, heads: 2, sparse: false, scores: 'softmax', mlp: 'relu' },
      ];
      for (const v of cases) {
        const model = buildLinearTransformer(options(v), data.info, 6);
        // Audited kernels, symmetry and no leaks (finite differences below, on a checked path).
        await expectExactHvp(model, data.batch, { wrt: model.params.trainable() });
        const errors = finiteDifferenceErrors(model, data.batch, 9, (u) =>
          reluPatternIsFixed(model, data.z, u, FD_STEP),
        );
        expect(errors.grad).toBeLessThan(1e-3);
        expect(errors.hvp).toBeLessThan(2e-3);
        model.dispose();
      }
      disposeBatch(data.batch);
    });

    it("has teeth: with TF.js's stock Softmax or Tanh gradient the Hessian-vector product is visibly wrong", async () => {
      await useBackend(backend);
      const data = iclBatch(24, 8, 3, 5);
      const cases: Array<[string, Variant]> = [
        ['Softmax', { layers: 2, heads: 2, sparse: true, scores: 'softmax' }],
        ['Tanh', { layers: 2, heads: 2, sparse: true, scores: 'linear', mlp: 'tanh' }],
      ];
      for (const [kernel, v] of cases) {
        const model = buildLinearTransformer(options(v), data.info, 4);
        const loss: LossFunction = (values) => model.loss(values, data.batch);
        const u = new Rng(3).normalArray(model.params.size);
        const fd = fdHessianVectorProduct(loss, model.params, u, FD_STEP);
        const stock = withStockGradient(kernel, () => hvpFlat(loss, model.params, u));
        // Measured: about 30% (Softmax) and 17% (Tanh), against 1e-5 with tdx's gradients.
        expect(relativeError(stock, fd)).toBeGreaterThan(0.05);
        expect(relativeError(hvpFlat(loss, model.params, u), fd)).toBeLessThan(2e-3);
        model.dispose();
      }
      disposeBatch(data.batch);
    });

    it('leaves no tensors behind over repeated loss, gradient and Hessian-vector calls', async () => {
      await useBackend(backend);
      const data = iclBatch(27, 6, 3, 5);
      const model = buildLinearTransformer(
        options({ layers: 2, heads: 2, sparse: true, scores: 'softmax', mlp: 'gelu' }),
        data.info,
        1,
      );
      const loss: LossFunction = (v) => model.loss(v, data.batch);
      const u = new Rng(2).normalArray(model.params.size);
      const round = () => {
        tf.tidy(() => loss(model.params.values()).dataSync());
        gradFlat(loss, model.params);
        hvpFlat(loss, model.params, u);
      };
      round();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) round();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      disposeBatch(data.batch);
    });
  });
}

describe('linear-transformer variants', () => {
  it('names the MLP blocks, gives them roles, and leaves the attention initialisation unchanged', async () => {
    await useBackend('cpu');
    const info = iclBatch(1, 1, 5, 20).info;
    const plain = buildLinearTransformer({ layers: 3 }, info, 4);
    const withMlp = buildLinearTransformer({ layers: 3, covariateMlp: {} }, info, 4);
    expect(withMlp.params.names.slice(0, 4)).toEqual([
      'mlp.in',
      'mlp.in.bias',
      'mlp.out',
      'mlp.out.bias',
    ]);
    expect(withMlp.params.select({ role: 'mlp' }).names).toEqual(['mlp.in', 'mlp.out']);
    expect(withMlp.params.select({ role: 'bias' }).names).toEqual(['mlp.in.bias', 'mlp.out.bias']);
    // Default hidden width 32: 5·32 + 32 + 32·5 + 5 more parameters than the 150 of P and Q.
    expect(withMlp.params.size).toBe(150 + 5 * 32 + 32 + 32 * 5 + 5);
    expect(plain.params.size).toBe(150);
    for (const name of plain.params.names)
      expect(withMlp.params.block(name).variable.dataSync()).toEqual(
        plain.params.block(name).variable.dataSync(),
      );
    // nn.Linear's initialisation: uniform on ±1/√fan_in.
    const wIn = Array.from(withMlp.params.block('mlp.in').variable.dataSync());
    const wOut = Array.from(withMlp.params.block('mlp.out').variable.dataSync());
    expect(Math.max(...wIn.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(5));
    expect(Math.max(...wOut.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(32));
    expect(Math.max(...wIn.map(Math.abs))).toBeGreaterThan(0.8 / Math.sqrt(5));
    plain.dispose();
    withMlp.dispose();
  });

  it('validates the options through the registry', async () => {
    await useBackend('cpu');
    const registry = register(Registry.create());
    expect(
      registry.check('model', { name: 'linear-transformer', scale: 2 }, 'model').problems,
    ).toEqual([
      expect.objectContaining({
        path: 'model.scale',
        message: "scale applies only to scores: 'softmax'",
      }),
    ]);
    // The former keys attention and temperature still resolve, each with a notice.
    const former = registry.check(
      'model',
      { name: 'linear-transformer', attention: 'softmax', temperature: 2 },
      'model',
    );
    expect(former.problems).toEqual([]);
    expect(former.resolved!.config).toMatchObject({ scores: 'softmax', scale: 2 });
    expect(former.notices).toEqual([
      'model.attention: "attention" is now called "scores"; the old name still works',
      'model.temperature: "temperature" is now called "scale"; the old name still works',
    ]);
    expect(
      registry.check(
        'model',
        { name: 'linear-transformer', covariateMlp: { activation: 'swish' } },
        'model',
      ).problems[0]?.path,
    ).toBe('model.covariateMlp.activation');
    const builder = registry.create<ModelBuilder>('model', {
      name: 'linear-transformer',
      scores: 'softmax',
      covariateMlp: { hidden: 7, activation: 'tanh' },
      heads: 2,
    });
    const model = builder.build(iclBatch(1, 1, 3, 4).info);
    expect(model.params.block('mlp.in').shape).toEqual([3, 7]);
    expect(model.params.names).toContain('layers.2.heads.1.Q');
    model.dispose();
  });
});
