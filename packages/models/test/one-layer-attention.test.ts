/**
 * one-layer-attention against a float64 host reference of F(X) = S(XW_Q, XW_K) X W_V [W_O] and
 * of its loss (1/2N) Σ‖F − Y‖², its W_V-gradient against the least-squares closed form
 * (1/N) Bᵀ(B W_V − Y), and its gradient and Hessian-vector products against finite differences.
 */
import { describe, expect, it } from 'vitest';
import { createRegistry, TdxError, type Plugin } from '@tdx/core';
import {
  fdDirectionalDerivative,
  gradFlat,
  relativeError,
  Rng,
  tf,
  useBackend,
  type AttentionKernel,
  type Batch,
  type DatasetInfo,
  type ModelBuilder,
  exactnessBackends,
} from '@tdx/tensor';
import { gaussianKernel, register, softmaxKernel } from '../src/index.js';
import {
  buildOneLayerAttention,
  oneLayerAttention,
  type OneLayerAttentionModel,
  type OneLayerAttentionOptions,
} from '../src/one-layer-attention.js';
import { expectExactHvp } from './support/checks.js';

type Matrix = number[][];

const info = (n: number, d: number, out: number): DatasetInfo => ({
  task: 'token-regression',
  inputShape: [n, d],
  targetShape: [n, out],
  meta: {},
});

function sequences(seed: number, N: number, n: number, d: number, out: number): Batch {
  const rng = new Rng(seed);
  return {
    inputs: rng.normalTensor([N, n, d], 0, 1 / Math.sqrt(d)),
    targets: rng.normalTensor([N, n, out]),
  };
}

const mul = (a: Matrix, b: Matrix): Matrix =>
  a.map((row) => b[0]!.map((_, c) => row.reduce((s, x, k) => s + x * b[k]![c]!, 0)));
const transpose = (a: Matrix): Matrix => a[0]!.map((_, c) => a.map((row) => row[c]!));
const columns = (a: Matrix, from: number, count: number): Matrix =>
  a.map((row) => row.slice(from, from + count));

/** The kernel's weights from its definition, in float64 (row-normalised for softmax). */
function hostKernel(kind: 'softmax' | 'gaussian', q: Matrix, k: Matrix): Matrix {
  const s = Math.sqrt(q[0]!.length);
  return q.map((qi) => {
    const raw = k.map((kj) =>
      kind === 'softmax'
        ? Math.exp(qi.reduce((a, x, c) => a + x * kj[c]!, 0) / s)
        : Math.exp(-qi.reduce((a, x, c) => a + (x - kj[c]!) ** 2, 0) / (2 * s)),
    );
    const total = kind === 'softmax' ? raw.reduce((a, b) => a + b, 0) : 1;
    return raw.map((r) => r / total);
  });
}

/** F(X_i) for every sequence, and the kernel matrices, in float64 from the float32 parameters. */
function hostForward(
  model: OneLayerAttentionModel,
  kind: 'softmax' | 'gaussian',
  X: Matrix[],
): { F: Matrix[]; S: Matrix[][] } {
  const values = model.params.values();
  const read = (name: string) => values[name]!.arraySync() as Matrix;
  const [WQ, WK, WV] = ['attn.query', 'attn.key', 'attn.value'].map(read) as [
    Matrix,
    Matrix,
    Matrix,
  ];
  const WO = model.valuePath.output ? read(model.valuePath.output) : undefined;
  const H = model.valuePath.heads;
  const [p, v] = [WQ[0]!.length / H, WV[0]!.length / H];
  const S = X.map((x) =>
    Array.from({ length: H }, (_, h) =>
      hostKernel(kind, mul(x, columns(WQ, h * p, p)), mul(x, columns(WK, h * p, p))),
    ),
  );
  const F = X.map((x, i) => {
    const heads = Array.from({ length: H }, (_, h) =>
      mul(mul(S[i]![h]!, x), columns(WV, h * v, v)),
    );
    const joined = x.map((_, t) => heads.flatMap((head) => head[t]!));
    return WO ? mul(joined, WO) : joined;
  });
  return { F, S };
}

const KERNELS: Record<'softmax' | 'gaussian', AttentionKernel> = {
  softmax: softmaxKernel({}),
  gaussian: gaussianKernel({ normalize: false }),
};

const SHAPES: Array<{ label: string; options: OneLayerAttentionOptions; out: number }> = [
  { label: 'one head, W_V only', options: {}, out: 3 },
  { label: '2 heads, keyDim 3, W_O', options: { heads: 2, keyDim: 3, output: true }, out: 3 },
];

for (const backend of exactnessBackends()) {
  describe(`one-layer-attention [${backend}]`, () => {
    for (const kind of ['softmax', 'gaussian'] as const) {
      for (const { label, options, out } of SHAPES) {
        it(`${kind}, ${label}: forward and loss equal the float64 reference`, async () => {
          await useBackend(backend);
          const [N, n, d] = [3, 4, 6];
          const model = buildOneLayerAttention(
            { initStd: 0.8, ...options },
            info(n, d, out),
            5,
            KERNELS[kind],
          );
          const batch = sequences(6, N, n, d, out);
          const X = batch.inputs.arraySync() as Matrix[];
          const Y = batch.targets.arraySync() as Matrix[];
          const { F, S } = hostForward(model, kind, X);
          const before = tf.memory().numTensors;
          const [predicted, kernels, loss] = tf.tidy(() => {
            const values = model.params.values();
            return [
              model.predict(values, batch.inputs).arraySync() as Matrix[],
              model.kernelMatrices(values, batch.inputs).arraySync() as Matrix[][],
              model.loss(values, batch).dataSync()[0]!,
            ];
          });
          expect(tf.memory().numTensors).toBe(before);
          F.forEach((Fi, i) =>
            Fi.forEach((row, t) =>
              row.forEach((x, c) => expect(predicted[i]![t]![c]!).toBeCloseTo(x, 5)),
            ),
          );
          S.forEach((Si, i) =>
            Si.forEach((Sih, h) =>
              Sih.forEach((row, t) =>
                row.forEach((x, c) => expect(kernels[i]![h]![t]![c]!).toBeCloseTo(x, 6)),
              ),
            ),
          );
          // L = (1/2N) Σ_i ‖F_i − Y_i‖_F².
          const squared = F.reduce(
            (s, Fi, i) =>
              s +
              Fi.reduce(
                (a, row, t) => a + row.reduce((b, x, c) => b + (x - Y[i]![t]![c]!) ** 2, 0),
                0,
              ),
            0,
          );
          expect(loss).toBeCloseTo(squared / (2 * N), 5);
          model.dispose();
          tf.dispose([batch.inputs, batch.targets]);
        });

        it(`${kind}, ${label}: gradient and Hessian-vector products match finite differences`, async () => {
          await useBackend(backend);
          const [N, n, d] = [2, 3, 4];
          const model = buildOneLayerAttention(
            { initStd: 0.8, ...options },
            info(n, d, out),
            7,
            KERNELS[kind],
          );
          const batch = sequences(8, N, n, d, out);
          const loss = (v: Parameters<typeof model.loss>[0]) => model.loss(v, batch);
          const direction = new Rng(9).normalArray(model.params.size);
          const unit = direction.map((x) => x / Math.hypot(...direction));
          const { grad } = gradFlat(loss, model.params);
          const slope = grad.reduce((s, g, i) => s + g * unit[i]!, 0);
          const fd = fdDirectionalDerivative(loss, model.params, unit);
          expect(Math.abs(slope - fd)).toBeLessThan(1e-3 * Math.max(Math.abs(fd), 1e-2));
          // The full Hessian's products, so every block's (W_Q alone, W_V alone) is exact too.
          await expectExactHvp(model, batch);
          model.dispose();
          tf.dispose([batch.inputs, batch.targets]);
        });
      }

      it(`${kind}: the W_V gradient is the least-squares one, (1/N) Bᵀ(B W_V − Y), B = [S_iX_i]`, async () => {
        await useBackend(backend);
        const [N, n, d, out] = [3, 2, 8, 2];
        const model = buildOneLayerAttention({}, info(n, d, out), 3, KERNELS[kind]);
        const batch = sequences(4, N, n, d, out);
        const X = batch.inputs.arraySync() as Matrix[];
        const Y = (batch.targets.arraySync() as Matrix[]).flat();
        const { S } = hostForward(model, kind, X);
        const B = X.flatMap((x, i) => mul(S[i]![0]!, x));
        const W = model.params.values()['attn.value']!.arraySync() as Matrix;
        const R = mul(B, W).map((row, r) => row.map((x, c) => x - Y[r]![c]!));
        const expected = mul(transpose(B), R)
          .flat()
          .map((g) => g / N);
        const wrt = model.params.select({ role: 'value' });
        const { grad } = gradFlat((v) => model.loss(v, batch), model.params, { wrt });
        expect(relativeError(grad, expected)).toBeLessThan(1e-5);
        model.dispose();
        tf.dispose([batch.inputs, batch.targets]);
      });
    }
  });
}

describe('one-layer-attention through the registry', () => {
  const registry = register(createRegistry()).register(oneLayerAttention as Plugin);

  it('builds with the named kernel, blocks query/key/value[/output] without biases', async () => {
    await useBackend('cpu');
    const build = (ref: Record<string, unknown>) =>
      registry
        .create<ModelBuilder>('model', { name: 'one-layer-attention', ...ref }, { seed: 2 })
        .build(info(4, 8, 5)) as OneLayerAttentionModel;
    const plain = build({ attention: { name: 'gaussian' } });
    expect(plain.params.blocks.map((b) => [b.name, b.role, b.shape])).toEqual([
      ['attn.query', 'query', [8, 8]],
      ['attn.key', 'key', [8, 8]],
      ['attn.value', 'value', [8, 5]],
    ]);
    expect(plain.valuePath).toEqual({ heads: 1, value: 'attn.value' });
    const full = build({ output: true, keyDim: 3, heads: 2, valueInitStd: 0.1 });
    expect(full.params.blocks.map((b) => [b.name, b.shape])).toEqual([
      ['attn.query', [8, 6]],
      ['attn.key', [8, 6]],
      ['attn.value', [8, 8]],
      ['attn.output', [8, 5]],
    ]);
    expect(full.valuePath).toEqual({ heads: 2, value: 'attn.value', output: 'attn.output' });
    // The init stds: W_V's entries follow valueInitStd, W_O's 1/√d.
    const std = (name: string) => {
      const x = Array.from(full.params.block(name).variable.dataSync());
      return Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    };
    expect(std('attn.value')).toBeLessThan(0.2);
    expect(std('attn.output')).toBeGreaterThan(0.2);
    // One stream per matrix: W_Q does not depend on the value options.
    expect(Array.from(full.params.block('attn.query').variable.dataSync()).slice(0, 6)).toEqual(
      Array.from(
        build({ output: true, heads: 2, keyDim: 3 }).params.block('attn.query').variable.dataSync(),
      ).slice(0, 6),
    );
    plain.dispose();
    full.dispose();
  });

  it('keyInit: query starts W_K at W_Q, so q_i = k_i and the Gaussian kernel has a unit diagonal', async () => {
    await useBackend('cpu');
    const model = registry
      .create<ModelBuilder>(
        'model',
        { name: 'one-layer-attention', attention: 'gaussian', keyInit: 'query' },
        { seed: 4 },
      )
      .build(info(3, 8, 2)) as OneLayerAttentionModel;
    const [WQ, WK] = ['attn.query', 'attn.key'].map((name) =>
      Array.from(model.params.block(name).variable.dataSync()),
    );
    expect(WK).toEqual(WQ);
    // Still two blocks: training one leaves the other.
    expect(model.params.block('attn.key').variable).not.toBe(
      model.params.block('attn.query').variable,
    );
    const batch = sequences(5, 2, 3, 8, 2);
    const S = tf.tidy(
      () => model.kernelMatrices(model.params.values(), batch.inputs).arraySync() as Matrix[][],
    );
    for (const sequence of S)
      sequence[0]!.forEach((row, t) =>
        row.forEach((x, j) => (t === j ? expect(x).toBeCloseTo(1, 6) : expect(x).toBeLessThan(1))),
      );
    model.dispose();
    tf.dispose([batch.inputs, batch.targets]);
  });

  it('refuses data that is not token sequences, and heads that do not divide the values', () => {
    const builder = registry.create<ModelBuilder>('model', { name: 'one-layer-attention' });
    const wrongData = () =>
      builder.build({
        task: 'icl-linear-regression',
        inputShape: [5, 6],
        targetShape: [],
        meta: {},
      });
    expect(wrongData).toThrow(/token sequences \[n, d\] with targets \[n, out\]/);
    expect(() => wrongData()).toThrow(
      expect.objectContaining({ hint: expect.stringContaining('token-regression') }),
    );
    const heads = registry.create<ModelBuilder>('model', { name: 'one-layer-attention', heads: 2 });
    expect(() => heads.build(info(4, 8, 5))).toThrow(TdxError);
  });
});
