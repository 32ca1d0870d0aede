/**
 * init-conditions on a one-layer attention layer with fixed kernel matrices (a test double of
 * the one-layer-attention model: F = concat_h(S_h X W_V^h) [W_O], loss (1/2N) Σ‖F − Y‖²),
 * against closed forms, ml-matrix's SVD, and gradient descent on W_V run here in float64.
 */
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, TdxError, type AnalysisInstance } from '@tdx/core';
import {
  ParamSet,
  Rng,
  tf,
  useBackend,
  type AnalysisTarget,
  type Batch,
  type ParamValues,
  type Scalar,
  type Tensor,
  exactnessBackends,
} from '@tdx/tensor';
import {
  initConditions,
  initConditionsConfig,
  initConditionsPlugin,
  type InitConditionsConfig,
  type InitConditionsData,
  type ValueOnlyGdPrediction,
} from '../src/plugins/init-conditions.js';

interface Layer {
  N: number;
  n: number;
  d: number;
  out: number;
  heads: number;
  /** [N, H, n, n] */
  S: Float64Array;
  /** [N, n, d] */
  X: Float64Array;
  /** [N, n, out] */
  Y: Float64Array;
  /** [d, width] */
  WV: Float64Array;
  /** [width, out] */
  WO?: Float64Array;
}

/** A target whose model is the layer with its kernel matrices fixed (W_Q, W_K frozen). */
function targetOf(layer: Layer, options: { lossScale?: number; noKernels?: boolean } = {}) {
  const { N, n, d, out, heads: H } = layer;
  const width = layer.WV.length / d;
  const params = ParamSet.create([
    { name: 'attn.query', role: 'query', init: { values: [0.5, -0.5], shape: [2] } },
    { name: 'attn.value', role: 'value', init: { values: layer.WV, shape: [d, width] } },
    ...(layer.WO
      ? [
          {
            name: 'attn.output',
            role: 'output' as const,
            init: { values: layer.WO, shape: [width, out] },
          },
        ]
      : []),
  ]).freeze({ role: 'query' });
  const S = tf.keep(tf.tensor4d(Float32Array.from(layer.S), [N, H, n, n]));
  const batch: Batch = {
    inputs: tf.keep(tf.tensor3d(Float32Array.from(layer.X), [N, n, d])),
    targets: tf.keep(tf.tensor3d(Float32Array.from(layer.Y), [N, n, out])),
  };
  const predict = (values: ParamValues, X: Tensor) =>
    tf.tidy(() => {
      const V = tf.transpose(
        tf.reshape(tf.matMul(tf.reshape(X, [N * n, d]), values['attn.value']!), [
          N,
          n,
          H,
          width / H,
        ]),
        [0, 2, 1, 3],
      );
      const joined = tf.reshape(tf.transpose(tf.matMul(S, V), [0, 2, 1, 3]), [N * n, width]);
      const F = layer.WO ? tf.matMul(joined, values['attn.output']!) : joined;
      return tf.reshape(F, [N, n, out]);
    });
  const model = {
    params,
    predict,
    loss: (values: ParamValues, b: Batch) =>
      tf.tidy(
        () =>
          tf.div(
            tf.sum(tf.square(tf.sub(predict(values, b.inputs), b.targets))),
            (2 * N) / (options.lossScale ?? 1),
          ) as Scalar,
      ),
    ...(options.noKernels
      ? {}
      : {
          kernelMatrices: () => tf.clone(S),
          valuePath: {
            heads: H,
            value: 'attn.value',
            ...(layer.WO ? { output: 'attn.output' } : {}),
          },
        }),
  };
  const target = {
    model,
    params,
    step: 0,
    dataset: {
      batch: () => ({ inputs: tf.clone(batch.inputs), targets: tf.clone(batch.targets) }),
    },
    analysisBatch: () => batch,
    lossOn: (b: Batch) => (values: ParamValues) => model.loss(values, b),
  } as unknown as AnalysisTarget;
  return {
    target,
    dispose: () => {
      params.dispose();
      tf.dispose([S, batch.inputs, batch.targets]);
    },
  };
}

/** B_h = [S_1h X_1; …; S_Nh X_N] in float64, as an ml-matrix. */
function stacked(layer: Layer, h: number): Matrix {
  const { N, n, d, heads: H } = layer;
  return new Matrix(
    Array.from({ length: N * n }, (_, r) => {
      const [i, t] = [Math.floor(r / n), r % n];
      return Array.from({ length: d }, (_, c) => {
        let s = 0;
        for (let j = 0; j < n; j++)
          s += layer.S[((i * H + h) * n + t) * n + j]! * layer.X[(i * n + j) * d + c]!;
        return s;
      });
    }),
  );
}

/** Gradient descent on W_V alone, in float64: the loss after each of `steps` steps (and at 0). */
function descend(layer: Layer, lr: number, steps: number): number[] {
  const { N, d, out, heads: H } = layer;
  const width = layer.WV.length / d;
  const v = width / H;
  const B = Array.from({ length: H }, (_, h) => stacked(layer, h));
  const Y = new Matrix(
    Array.from({ length: B[0]!.rows }, (_, r) =>
      Array.from(layer.Y.subarray(r * out, (r + 1) * out)),
    ),
  );
  const WO = layer.WO
    ? new Matrix(
        Array.from({ length: width }, (_, k) =>
          Array.from(layer.WO!.subarray(k * out, (k + 1) * out)),
        ),
      )
    : undefined;
  let W = new Matrix(
    Array.from({ length: d }, (_, k) => Array.from(layer.WV.subarray(k * width, (k + 1) * width))),
  );
  const losses: number[] = [];
  for (let t = 0; t <= steps; t++) {
    const joined = Matrix.zeros(B[0]!.rows, width);
    for (let h = 0; h < H; h++)
      joined.setSubMatrix(B[h]!.mmul(W.subMatrix(0, d - 1, h * v, (h + 1) * v - 1)), 0, h * v);
    const R = (WO ? joined.mmul(WO) : joined).sub(Y);
    losses.push(R.norm('frobenius') ** 2 / (2 * N));
    const back = WO ? R.mmul(WO.transpose()) : R;
    const grad = Matrix.zeros(d, width);
    for (let h = 0; h < H; h++)
      grad.setSubMatrix(
        B[h]!.transpose().mmul(back.subMatrix(0, back.rows - 1, h * v, (h + 1) * v - 1)),
        0,
        h * v,
      );
    W = W.sub(grad.mul(lr / N));
  }
  return losses;
}

/** Least-squares slope of ln(y) against the index, over [from, to). */
function logSlope(y: number[], from: number, to: number): number {
  const xs = Array.from({ length: to - from }, (_, k) => from + k);
  const ls = xs.map((x) => Math.log(y[x]!));
  const [mx, my] = [xs, ls].map((a) => a.reduce((s, x) => s + x, 0) / a.length) as [number, number];
  const sxy = xs.reduce((s, x, k) => s + (x - mx) * (ls[k]! - my), 0);
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}

function randomLayer(
  seed: number,
  shape: { N: number; n: number; d: number; out: number; heads?: number; output?: boolean },
): Layer {
  const rng = new Rng(seed);
  const { N, n, d, out } = shape;
  const H = shape.heads ?? 1;
  const width = shape.output ? d : out;
  // Softmax-like kernels: positive rows summing to 1, leaning to the diagonal.
  const S = new Float64Array(N * H * n * n);
  for (let row = 0; row < N * H * n; row++) {
    const raw = Array.from({ length: n }, (_, j) =>
      Math.exp(0.5 * rng.normal() + (j === row % n ? 1.5 : 0)),
    );
    const total = raw.reduce((a, b) => a + b, 0);
    raw.forEach((x, j) => (S[row * n + j] = x / total));
  }
  // Round to float32 here, so the float64 references see exactly the tensors' values.
  const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
  return {
    N,
    n,
    d,
    out,
    heads: H,
    S: f32(S),
    X: f32(rng.normalArray(N * n * d, 0, 1 / Math.sqrt(d))),
    Y: f32(rng.normalArray(N * n * out)),
    WV: f32(rng.normalArray(d * width, 0, 0.5)),
    ...(shape.output ? { WO: f32(rng.normalArray(width * out, 0, 1 / Math.sqrt(width))) } : {}),
  };
}

const config = (c: Partial<InitConditionsConfig> = {}) => initConditionsConfig.parse(c);

/** The evaluation's record at `c`. */
const analyse = (target: AnalysisTarget, c: Partial<InitConditionsConfig> = {}) =>
  initConditions(target, config(c)).data;

/** The W_V-only GD prediction of a record, which must have one. */
function gdOf(data: InitConditionsData): ValueOnlyGdPrediction {
  if ('reason' in data.valueOnlyGd) throw new Error(data.valueOnlyGd.reason);
  return data.valueOnlyGd;
}

describe.each(exactnessBackends())('init-conditions [%s]', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('reads singular values, rank and κ(S_i) off a closed form: orthogonal tokens, diagonal S_i', () => {
    // X_i's tokens are scaled basis vectors a·e_{i·n+t}; S_i = diag(s_i): B = diag(a·s) padded.
    const [N, n, d, out] = [2, 3, 8, 2];
    const a = 0.5;
    const s = [
      [1, 2, 4],
      [0.5, 1, 1.5],
    ];
    const X = new Float64Array(N * n * d);
    const S = new Float64Array(N * n * n);
    for (let i = 0; i < N; i++)
      for (let t = 0; t < n; t++) {
        X[(i * n + t) * d + i * n + t] = a;
        S[(i * n + t) * n + t] = s[i]![t]!;
      }
    const layer: Layer = {
      N,
      n,
      d,
      out,
      heads: 1,
      S,
      X,
      Y: Float64Array.from({ length: N * n * out }, (_, k) => (k % 3) - 1),
      WV: new Float64Array(d * out),
    };
    const { target, dispose } = targetOf(layer);
    const before = tf.memory().numTensors;
    const result = initConditions(target, config({ kernelConditionLimit: 3.5 }));
    expect(tf.memory().numTensors).toBe(before);
    const data = result.data;
    const sigma = s
      .flat()
      .map((x) => a * x)
      .sort((p, q) => q - p);
    data.stackedInputs[0]!.singularValues.forEach((x, k) => expect(x).toBeCloseTo(sigma[k]!, 12));
    expect(data.stackedInputs[0]).toMatchObject({ rank: 6, sigmaMin: 0.25, sigmaMax: 2 });
    expect(data.stackedInputs[0]!.conditionNumber).toBeCloseTo(8, 12);
    expect(result.value).toBeCloseTo(0.0625, 12);
    expect(data.kernels[0]!.conditionNumbers).toEqual([4, 3]);
    expect(data.kernels[0]!.sigmaMins).toEqual([1, 0.5]);
    // W_V = 0: F = 0 and L = ‖Y‖²/(2N); the ratios follow.
    const loss = Array.from(layer.Y).reduce((t, y) => t + y * y, 0) / (2 * N);
    expect(data.loss).toBeCloseTo(loss, 12);
    expect(data.ratios.sigmaMinSquaredOverLoss).toBeCloseTo(0.0625 / loss, 12);
    expect(data.ratios.sigmaMinOverWeightNorm['attn.query']).toBeCloseTo(0.25 / Math.SQRT1_2, 6);
    expect(data.ratios.sigmaMinOverWeightNorm['attn.value']).toBeNull();
    expect(data.checks).toEqual({
      embeddingLargeEnough: true,
      fullRank: true,
      kernelWellConditioned: false, // κ(S_1) = 4 > 3.5
    });
    // BBᵀ = diag(a²s²): λ_min = 0.0625, λ_max = 4, so the stability limit is 2N/4 = 1.
    expect(data.valueOnlyGd).toMatchObject({
      lambdaMin: 0.0625,
      lambdaMax: 4,
      lrLimit: 1,
      minimumLoss: expect.closeTo(0, 12),
    });
    dispose();
  });

  it('matches SVD references and predicts the loss curve of W_V-only gradient descent', () => {
    const layer = randomLayer(3, { N: 3, n: 4, d: 20, out: 5 });
    const { target, dispose } = targetOf(layer);
    const B = stacked(layer, 0);
    const reference = new SingularValueDecomposition(B.transpose(), { autoTranspose: true })
      .diagonal;
    const first = analyse(target);
    first.stackedInputs[0]!.singularValues.forEach((x, k) =>
      expect(Math.abs(x - reference[k]!)).toBeLessThan(1e-10 * reference[0]!),
    );
    const lr = 0.9 * gdOf(first).lrLimit;
    // B is ill-conditioned (κ(BBᵀ) ≈ 460: random kernels do that), so the run is long.
    const steps = 1500;
    const data = analyse(target, {
      lr,
      predictAt: [0, 1, 10, 100, 1000, steps],
      minSigmaSquaredOverLoss: 1e-9,
    });
    const gd = gdOf(data);
    expect(gd.stable).toBe(true);
    expect(data.checks.sigmaMinLargeVsLoss).toBe(true);
    const losses = descend(layer, lr, steps);
    for (const [t, predicted] of Object.entries(gd.predictedLoss!))
      expect(Math.abs(predicted / losses[Number(t)]! - 1)).toBeLessThan(1e-8);
    // The late slope of ln L is 2 ln ρ; with d ≥ N·n and full rank, L* = 0.
    expect(gd.minimumLoss).toBeLessThan(1e-12);
    const slope = logSlope(losses, 1000, steps);
    expect(Math.abs(slope / gd.logLossSlope! - 1)).toBeLessThan(1e-3);
    expect(gd.logLossSlope).toBeCloseTo(2 * Math.log(1 - (lr * gd.lambdaMin) / layer.N), 10);
    // Near the limit the top mode is the slowest: ρ = ηλ_max/N − 1.
    const edge = gdOf(analyse(target, { lr: 0.999 * gd.lrLimit }));
    expect(edge.slowestLambda).toBe(gd.lambdaMax);
    expect(edge.rate).toBeCloseTo(0.999 * 2 - 1, 10);
    const unstable = gdOf(analyse(target, { lr: 1.01 * gd.lrLimit }));
    expect(unstable.stable).toBe(false);
    dispose();
  });

  it('with d < N·n: fails the checks, and GD stops at the least-squares residual', () => {
    const layer = randomLayer(4, { N: 3, n: 4, d: 8, out: 2 });
    const { target, dispose } = targetOf(layer);
    const data = analyse(target);
    expect(data.checks).toMatchObject({ embeddingLargeEnough: false, fullRank: false });
    expect(data.stackedInputs[0]!.rank).toBe(8);
    expect(data.sigmaMin).toBe(0);
    expect(data.notes.join(' ')).toMatch(/d = 8 < N·n = 12/);
    // L* = (1/2N)‖(I − P_B) Y‖², from least squares.
    const B = stacked(layer, 0);
    const Y = new Matrix(
      Array.from({ length: 12 }, (_, r) => Array.from(layer.Y.subarray(r * 2, r * 2 + 2))),
    );
    const W = new SingularValueDecomposition(B).solve(Y);
    const floor = B.mmul(W).sub(Y).norm('frobenius') ** 2 / (2 * layer.N);
    expect(gdOf(data).minimumLoss).toBeCloseTo(floor, 8);
    const lr = gdOf(data).lrOptimal;
    const losses = descend(layer, lr, 800);
    expect(losses.at(-1)!).toBeCloseTo(floor, 8);
    const excess = losses.map((l) => l - floor);
    const predicted = gdOf(analyse(target, { lr }));
    expect(Math.abs(logSlope(excess, 300, 600) / predicted.logLossSlope! - 1)).toBeLessThan(2e-2);
    expect(predicted.rate).toBeCloseTo(gdOf(data).rateAtOptimalLr, 12);
    dispose();
  });

  it('with W_O (eigenvalues λ_k(BBᵀ)·μ_j(W_OᵀW_O)) and with several heads, predicts GD', () => {
    for (const shape of [
      { N: 2, n: 3, d: 8, out: 4, output: true },
      { N: 2, n: 3, d: 8, out: 4, heads: 2 },
    ]) {
      const layer = randomLayer(5, shape);
      const { target, dispose } = targetOf(layer);
      const lr = 0.8 * gdOf(analyse(target)).lrLimit;
      const gd = gdOf(analyse(target, { lr, predictAt: [5, 50] }));
      const losses = descend(layer, lr, 50);
      expect(gd.predictedLoss!['5']).toBeCloseTo(losses[5]!, 8);
      expect(gd.predictedLoss!['50']).toBeCloseTo(losses[50]!, 8);
      dispose();
    }
    // Several heads with W_O: no rate, and a reason.
    const layer = randomLayer(6, { N: 2, n: 2, d: 8, out: 3, heads: 2, output: true });
    const { target, dispose } = targetOf(layer);
    const data = analyse(target, { lr: 0.1 });
    expect(data.valueOnlyGd).toEqual({ reason: expect.stringMatching(/several heads with W_O/) });
    expect(data.stackedInputs).toHaveLength(2);
    dispose();
  });

  it('fails clearly for a model without kernel matrices, or whose loss is not (1/2N)Σ‖F − Y‖²', () => {
    const layer = randomLayer(7, { N: 2, n: 2, d: 4, out: 2 });
    const plain = targetOf(layer, { noKernels: true });
    expect(() => initConditions(plain.target, config())).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        hint: expect.stringContaining('one-layer-attention'),
      }),
    );
    plain.dispose();
    const mean = targetOf(layer, { lossScale: 0.25 });
    expect(() => initConditions(mean.target, config())).toThrow(TdxError);
    expect(() => initConditions(mean.target, config())).toThrow(/not \(1\/2N\)/);
    mean.dispose();
  });
});

describe('init-conditions through the registry', () => {
  it('validates its config', () => {
    const registry = createRegistry().register(initConditionsPlugin);
    expect(
      registry
        .check('analysis', { name: 'init-conditions', predictAt: [10] }, 'analyses[0]')
        .problems.map((p) => p.path),
    ).toEqual(['analyses[0].predictAt']);
    const analysis = registry.create<AnalysisInstance>('analysis', {
      name: 'init-conditions',
      lr: 0.5,
    });
    expect(typeof analysis.run).toBe('function');
  });
});
