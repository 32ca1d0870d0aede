/**
 * In-context linear regression (Ahn et al. 2023; Garg et al. 2022). Each prompt draws a task
 * w ~ N(0, I_d) and covariates x_1..x_n, x_q; labels are y_i = <w, x_i> + noise·ε_i. The model
 * sees n (x_i, y_i) pairs and the query with its label slot zeroed, and must predict y_q.
 *
 * Covariates (as in Ahn et al.'s `generate_data`):
 * - `normal`: x ~ N(0, I_d), E|x|² = d;
 * - `sphere`: x uniform on the unit sphere, |x| = 1;
 * - `gamma`: x = u·sqrt(G), u uniform on the sphere, G ~ Gamma(k, sqrt(10/k)), so
 *   E|x|² = sqrt(10k), Var|x|² = 10 (k = 2.5, d = 5 gives exactly N(0, I_5)).
 * With a covariance, x = U D z with z drawn as above, D = diag(scales), U a seeded random
 * orthogonal matrix (or I); by default the task is transformed as in Ahn et al.'s code,
 * w = U D⁻¹ w₀, so that y = <w₀, z> keeps its distribution.
 *
 * Nonlinear targets (Ahn et al.'s nonlinear regression), x ~ N(0, I_d) shown in the prompt, and
 * a random one-hidden-layer ReLU net f (see random-relu-net.ts), hidden width `netHidden` (d):
 * - `relu` (`generate_data_relu`): y = f(x), f: R^d → R with weights N(0, 0.1²), drawn afresh
 *   for every batch (the authors draw it in every call) and shared by the batch's prompts; no
 *   task vector, so a prompt's context tells the model which f this batch uses;
 * - `mlp` (nonlinear_regression.ipynb's `generate_data_mlp`): y = <w, g(x)>, w ~ N(0, I_d) per
 *   prompt, g: R^d → R^d with torch's default (uniform) weights, drawn once per run from the data
 *   seed and shared by every batch and the evaluation batch: linear regression on fixed random
 *   features that the model never sees (a model with `covariateMlp` can learn them).
 *   (linear_transformer.py's own `generate_data_mlp` differs: N(0, 1) weights, a net per call and
 *   g(x) in the prompt; its `generate_data(mode='mlp')` drops that result and returns normal data.)
 *
 * Layout: inputs [batch, n + 1, d + 1], one token per row: rows 0..n-1 are (x_i, y_i), row n is
 * (x_q, 0). Targets [batch]: y_q. Batches are a pure function of (seed, step); the evaluation
 * batch of (evalSeed), or of the seed when evalSeed is not given.
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import { Rng, tf, type Batch, type Dataset, type DatasetInfo } from '@tdx/tensor';
import { cachedBatch } from './cached-batch.js';
import { randomRotation } from './random-rotation.js';
import { applyReluNet, drawReluNet, type ReluNet } from './random-relu-net.js';
import { estimateIclLinearRegression } from './estimates.js';

export const iclCovariates = ['normal', 'sphere', 'gamma', 'relu', 'mlp'] as const;
export type IclCovariates = (typeof iclCovariates)[number];

export const iclCovarianceConfig = z.strictObject({
  scales: z
    .array(z.number().positive())
    .min(1)
    .describe('The diagonal D (standard deviations along the principal axes), one per dimension.'),
  rotation: z
    .boolean()
    .default(true)
    .describe('Rotate by a seeded random orthogonal U (true) or keep the axes (false: U = I).'),
  transformTask: z
    .boolean()
    .default(true)
    .describe(
      'Transform the task as Ahn et al. do, w = U D⁻¹ w₀, so y = <w₀, z>; false: w ~ N(0, I).',
    ),
  seed: z
    .number()
    .int()
    .nonnegative()
    .default(0)
    .describe('Seed of U; fixed (0) by default so every run seed and the eval batch share one U.'),
});

export const iclLinearRegressionConfig = z
  .object({
    d: z.number().int().positive().default(5).describe('Dimension of the covariates.'),
    n: z.number().int().positive().default(20).describe('Number of context pairs per prompt.'),
    batchSize: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('Prompts per training batch (a fresh batch every step).'),
    evalBatchSize: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('Prompts in the fixed evaluation batch.'),
    covariates: z
      .enum(iclCovariates)
      .default('normal')
      .describe(
        'Distribution of the covariates before the covariance is applied; `relu` and `mlp`: x ~ N(0, I) with targets through a random ReLU net (Ahn et al.).',
      ),
    netHidden: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('relu and mlp covariates: hidden width of the random ReLU net; default d.'),
    netWeightStd: z
      .number()
      .positive()
      .optional()
      .describe(
        "relu and mlp covariates: the net's weights ~ N(0, s²); default 0.1 for relu, torch's uniform ±1/√fan_in for mlp (biases always torch's).",
      ),
    gammaShape: z
      .number()
      .positive()
      .default(0.1)
      .describe(
        'Gamma covariates: the shape k of G ~ Gamma(k, sqrt(10/k)); smaller is heavier-tailed.',
      ),
    covariance: iclCovarianceConfig
      .optional()
      .describe('x = U D z: principal scales and rotation.'),
    noise: z
      .number()
      .nonnegative()
      .default(0)
      .describe(
        'Standard deviation of the label noise, on the context labels and the query target.',
      ),
    seed: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("Seed of the data stream; by default derived from the spec's seed."),
    evalSeed: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        "Seed of the evaluation batch (Ahn et al.: 99); by default the data stream's seed.",
      ),
  })
  .superRefine((c, ctx) => {
    const nonlinear = c.covariates === 'relu' || c.covariates === 'mlp';
    if (nonlinear && c.covariance)
      ctx.addIssue({
        code: 'custom',
        path: ['covariance'],
        message: `covariates '${c.covariates}' take x ~ N(0, I) (as Ahn et al.'s nonlinear modes); drop covariance`,
      });
    for (const key of ['netHidden', 'netWeightStd'] as const)
      if (!nonlinear && c[key] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `applies only to covariates 'relu' or 'mlp', not '${c.covariates}'`,
        });
    if (c.covariance && c.covariance.scales.length !== c.d)
      ctx.addIssue({
        code: 'custom',
        path: ['covariance', 'scales'],
        message: `needs d = ${c.d} scales, got ${c.covariance.scales.length}`,
      });
  });

export type IclLinearRegressionConfig = z.output<typeof iclLinearRegressionConfig>;
export type IclCovarianceConfig = z.input<typeof iclCovarianceConfig>;

/** The prompt distribution: d and n, the rest optional with the plugin's defaults. */
export interface IclPromptConfig {
  d: number;
  n: number;
  /** Default `normal`. */
  covariates?: IclCovariates | undefined;
  /** Default 0.1. */
  gammaShape?: number | undefined;
  covariance?: IclCovarianceConfig | undefined;
  /** Default 0. */
  noise?: number | undefined;
  /** relu and mlp covariates: hidden width of the random net; default d. */
  netHidden?: number | undefined;
  /** relu and mlp covariates: the net's weight std; default 0.1 (relu), torch's uniform (mlp). */
  netWeightStd?: number | undefined;
  /** mlp covariates: the feature net g; absent, drawn from the sampler's `rng.fork('mlp-net')`. */
  net?: ReluNet | undefined;
}

/** The prompts' tokens and targets, and the random net behind relu and mlp targets. */
export interface IclPrompts {
  tokens: Float32Array;
  targets: Float32Array;
  /** relu: the batch's f (d → 1); mlp: the feature net g (d → d); otherwise null. */
  net: ReluNet | null;
}

/** relu: the batch's target net f, drawn from the batch's stream. */
export function iclReluNet(rng: Rng, config: IclPromptConfig): ReluNet {
  const hidden = config.netHidden ?? config.d;
  return drawReluNet(rng.fork('relu-net'), config.d, hidden, 1, config.netWeightStd ?? 0.1);
}

/** mlp: the feature net g of a run, drawn from the run's data stream. */
export function iclMlpNet(rng: Rng, config: IclPromptConfig): ReluNet {
  const hidden = config.netHidden ?? config.d;
  return drawReluNet(rng.fork('mlp-net'), config.d, hidden, config.d, config.netWeightStd);
}

/** The matrices of a covariance, d × d row-major in float64. */
export interface IclCovariance {
  /** The orthogonal U (I without rotation). */
  rotation: Float64Array;
  /** x = mix·z, mix = U D. */
  mix: Float64Array;
  /** w = task·w₀, task = U D⁻¹; null when the task is not transformed. */
  task: Float64Array | null;
}

/** U, U D and U D⁻¹ of a covariance config. */
export function iclCovariance(d: number, covariance: IclCovarianceConfig): IclCovariance {
  const { scales } = covariance;
  if (scales.length !== d || scales.some((s) => !(s > 0) || !Number.isFinite(s)))
    throw new TdxError(
      'INVALID_ARGUMENT',
      `covariance.scales must be ${d} positive numbers, got [${scales.join(', ')}]`,
      { hint: 'give one scale per covariate dimension d' },
    );
  const rotation = new Float64Array(d * d);
  if (covariance.rotation ?? true) {
    const rows = randomRotation(d, new Rng(covariance.seed ?? 0).fork('icl-covariance'));
    rows.forEach((row, i) => rotation.set(row, i * d));
  } else for (let i = 0; i < d; i++) rotation[i * d + i] = 1;
  const mix = new Float64Array(d * d);
  const task = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      mix[i * d + j] = rotation[i * d + j]! * scales[j]!;
      task[i * d + j] = rotation[i * d + j]! / scales[j]!;
    }
  return { rotation, mix, task: (covariance.transformTask ?? true) ? task : null };
}

/** The tokens and targets of `batchSize` prompts drawn from `rng`, on the host. */
export function sampleIclPrompts(rng: Rng, config: IclPromptConfig, batchSize: number): IclPrompts {
  const covariance = config.covariance ? iclCovariance(config.d, config.covariance) : null;
  return samplePrompts(rng, config, batchSize, covariance);
}

function samplePrompts(
  rng: Rng,
  config: IclPromptConfig,
  batchSize: number,
  covariance: IclCovariance | null,
): IclPrompts {
  const { d, n } = config;
  const covariates = config.covariates ?? 'normal';
  if (covariates === 'relu' || covariates === 'mlp') {
    if (covariance)
      throw new TdxError(
        'INVALID_ARGUMENT',
        `covariates '${covariates}' take x ~ N(0, I); a covariance is not supported with them`,
        { hint: 'drop covariance, or use normal, sphere or gamma covariates' },
      );
    return sampleNonlinearPrompts(rng, { ...config, covariates }, batchSize);
  }
  const shape = config.gammaShape ?? 0.1;
  const noise = labelNoise(config);
  const scale = Math.sqrt(10 / shape);
  const width = d + 1;
  const rows = n + 1;
  const tokens = new Float32Array(batchSize * rows * width);
  const targets = new Float32Array(batchSize);
  // Labels in float64, rounded once when written (noise is added before rounding).
  const labels = new Float64Array(batchSize * rows);
  const w0 = new Float64Array(d);
  const w = new Float64Array(d);
  const z = new Float64Array(d);
  const x = new Float64Array(d);
  for (let b = 0; b < batchSize; b++) {
    for (let k = 0; k < d; k++) w0[k] = rng.normal();
    if (covariance?.task) matVec(covariance.task, w0, w, d);
    else w.set(w0);
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < d; k++) z[k] = rng.normal();
      if (covariates !== 'normal') {
        let norm = Math.hypot(...z);
        while (norm === 0) {
          for (let k = 0; k < d; k++) z[k] = rng.normal();
          norm = Math.hypot(...z);
        }
        const radius = covariates === 'gamma' ? Math.sqrt(rng.gamma(shape, scale)) : 1;
        for (let k = 0; k < d; k++) z[k] = (z[k]! / norm) * radius;
      }
      if (covariance) matVec(covariance.mix, z, x, d);
      else x.set(z);
      const at = (b * rows + i) * width;
      let y = 0;
      for (let k = 0; k < d; k++) {
        tokens[at + k] = x[k]!;
        y += w[k]! * x[k]!;
      }
      labels[b * rows + i] = y;
    }
  }
  placeLabels(rng, noise, labels, tokens, targets, d, n);
  return { tokens, targets, net: null };
}

/** relu and mlp covariates: x ~ N(0, I_d) in the prompt, labels through the random net. */
function sampleNonlinearPrompts(
  rng: Rng,
  config: IclPromptConfig & { covariates: 'relu' | 'mlp' },
  batchSize: number,
): IclPrompts {
  const { d, n } = config;
  const noise = labelNoise(config);
  const relu = config.covariates === 'relu';
  const net = relu ? iclReluNet(rng, config) : (config.net ?? iclMlpNet(rng, config));
  if (net.inputs !== d || net.outputs !== (relu ? 1 : d))
    throw new TdxError(
      'INVALID_ARGUMENT',
      `the ${config.covariates} net maps ${net.inputs} → ${net.outputs}, the prompts need ${d} → ${relu ? 1 : d}`,
    );
  const width = d + 1;
  const rows = n + 1;
  const tokens = new Float32Array(batchSize * rows * width);
  const targets = new Float32Array(batchSize);
  const labels = new Float64Array(batchSize * rows);
  const w = new Float64Array(d);
  const x = new Float64Array(d);
  const out = new Float64Array(net.outputs);
  const scratch = new Float64Array(net.hidden);
  for (let b = 0; b < batchSize; b++) {
    if (!relu) for (let k = 0; k < d; k++) w[k] = rng.normal();
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < d; k++) x[k] = rng.normal();
      applyReluNet(net, x, out, scratch);
      let y = 0;
      if (relu) y = out[0]!;
      else for (let k = 0; k < d; k++) y += w[k]! * out[k]!;
      tokens.set(x, (b * rows + i) * width);
      labels[b * rows + i] = y;
    }
  }
  placeLabels(rng, noise, labels, tokens, targets, d, n);
  return { tokens, targets, net };
}

/** The label noise's standard deviation, checked. */
function labelNoise(config: IclPromptConfig): number {
  const noise = config.noise ?? 0;
  if (!(noise >= 0) || !Number.isFinite(noise))
    throw new TdxError('INVALID_ARGUMENT', `noise must be a finite number >= 0, got ${noise}`);
  return noise;
}

/**
 * Adds the label noise (a stream of its own, so the noise level changes the labels only, not x
 * or w) and writes each context label into its token and the query's label into `targets`; the
 * query's label slot stays 0. Labels are float64 until here, rounded once when written.
 */
function placeLabels(
  rng: Rng,
  noise: number,
  labels: Float64Array,
  tokens: Float32Array,
  targets: Float32Array,
  d: number,
  n: number,
): void {
  if (noise > 0) {
    const eps = rng.fork('icl-noise', rng.nextUint32());
    for (let j = 0; j < labels.length; j++) labels[j] = labels[j]! + noise * eps.normal();
  }
  const rows = n + 1;
  const width = d + 1;
  for (let b = 0; b < targets.length; b++) {
    for (let i = 0; i < n; i++) tokens[(b * rows + i) * width + d] = labels[b * rows + i]!;
    targets[b] = labels[b * rows + n]!;
  }
}

function matVec(m: Float64Array, v: Float64Array, out: Float64Array, d: number): void {
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += m[i * d + j]! * v[j]!;
    out[i] = s;
  }
}

export function createIclLinearRegression(
  config: IclLinearRegressionConfig,
  seed: number,
): Dataset {
  const root = new Rng(config.seed ?? seed);
  const evalRoot = config.evalSeed === undefined ? root : new Rng(config.evalSeed);
  const covariance = config.covariance ? iclCovariance(config.d, config.covariance) : null;
  // mlp: one feature net per run, from the data stream, shared with the evaluation batch.
  const prompts: IclPromptConfig =
    config.covariates === 'mlp' ? { ...config, net: iclMlpNet(root, config) } : config;
  const meta: DatasetInfo['meta'] = {
    d: config.d,
    n: config.n,
    covariates: config.covariates,
    noise: config.noise,
  };
  if (config.covariates === 'gamma') meta.gammaShape = config.gammaShape;
  if (config.covariates === 'relu' || config.covariates === 'mlp') {
    meta.netHidden = config.netHidden ?? config.d;
    if (config.netWeightStd !== undefined) meta.netWeightStd = config.netWeightStd;
  }
  if (config.covariance) {
    meta.covarianceScales = config.covariance.scales.join(',');
    meta.covarianceRotation = config.covariance.rotation;
    meta.covarianceTransformTask = config.covariance.transformTask;
  }
  const info: DatasetInfo = {
    task: 'icl-linear-regression',
    inputShape: [config.n + 1, config.d + 1],
    targetShape: [],
    meta,
  };
  const toBatch = (rng: Rng, size: number): Batch => {
    const { tokens, targets } = samplePrompts(rng, prompts, size, covariance);
    return {
      inputs: tf.tensor3d(tokens, [size, config.n + 1, config.d + 1], 'float32'),
      targets: tf.tensor1d(targets, 'float32'),
    };
  };
  const evaluation = cachedBatch(() => toBatch(evalRoot.fork('eval'), config.evalBatchSize));
  return {
    info,
    batch: (step) => toBatch(root.fork('train', step), config.batchSize),
    evalBatch: evaluation.get,
    dispose: evaluation.dispose,
  };
}

export const iclLinearRegression = definePlugin({
  kind: 'dataset',
  name: 'icl-linear-regression',
  description:
    'in-context linear regression (Ahn et al. 2023): n pairs (x, <w, x>) and a query, x, w ~ N(0, I_d)',
  config: iclLinearRegressionConfig,
  create: (config, ctx): Dataset => createIclLinearRegression(config, ctx.seed),
  estimate: estimateIclLinearRegression,
});
