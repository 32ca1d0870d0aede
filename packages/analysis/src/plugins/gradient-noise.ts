/**
 * Stochastic-gradient noise at the current parameters (Ahn et al. 2023, after Simsekli et al.
 * 2019 and Zhang et al. 2020): how far a minibatch gradient g_B strays from the full gradient g,
 * and whether the strays have a heavy tail.
 *
 * - g, the "true" gradient: the mean of the gradients of `trueBatches` batches of the training
 *   distribution, the dataset's batches −1, −2, …, −trueBatches (a stream training never draws;
 *   each batch the same size, so the mean is the gradient of their union for a mean loss).
 * - `samples` independent minibatch gradients g_B from the next reserved batches,
 *   −(trueBatches + 1), …, −(trueBatches + samples), and their noise norms ‖g_B − g‖₂ over the
 *   trainable blocks (gradients in float32, differences and norms in float64 on the host).
 * - A Gaussian control: as many Gaussian vectors with exactly the sample mean and covariance of
 *   the noise vectors g_B − g (see statistics/gaussian-control.ts; draws seeded by `seed`), and
 *   their norms.
 * - For both: Hill's tail index on the `tailFraction` largest norms (with its standard error),
 *   q0.99/q0.5, q0.999/q0.5 and the excess kurtosis; `heavierThanGaussian` by the criterion of
 *   statistics/tail-comparison.ts (noise index below the control's by more than 2 standard
 *   errors, and larger kurtosis). The value is the noise's tail index.
 *
 * Ahn et al. measure at initialisation with B = 1000, g from 100·B prompts and 10,000 samples,
 * and read the heavy tail off a 100-bin density histogram; the defaults here (1000 samples, 100
 * true batches) take a tenth of the samples.
 *
 * Cost per evaluation: trueBatches + samples gradient evaluations (1100 by default); samples × P
 * float32 values of host memory for the noise vectors (P trainable parameters); and for the
 * control, samples² · min(samples, P) host multiply-adds (when P > samples, from the noise's
 * Gram matrix, itself 2·samples²·P flops on the backend and samples² float64 on the host). For
 * large models, lower `samples` and `trueBatches`, and schedule the analysis at a few steps
 * (`at: [0, ...]`); a model whose samples × P exceeds 2^28 values is refused.
 */
import {
  definePlugin,
  TdxError,
  z,
  type AnalysisInstance,
  type AnalysisOutput,
  type FigureSpec,
} from '@tdx/core';
import { dot, Rng, tf, valueAndGrad, type AnalysisTarget, type ParamSet } from '@tdx/tensor';
import {
  gaussianControlNormsFromGram,
  gaussianControlNormsFromRows,
} from '../statistics/gaussian-control.js';
import { gramMatrix } from '../statistics/gram-matrix.js';
import { hillTailSize } from '../statistics/hill.js';
import { compareTails } from '../statistics/tail-comparison.js';
import { tailSummary, type TailSummary } from '../statistics/tail-summary.js';

/** The most noise values (samples × trainable parameters) the analysis keeps on the host. */
export const GRADIENT_NOISE_FLOAT_LIMIT = 2 ** 28;

export const gradientNoiseConfig = z.object({
  samples: z
    .number()
    .int()
    .min(20)
    .max(10_000)
    .default(1000)
    .describe('Minibatch gradients sampled, each from its own reserved batch.'),
  trueBatches: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(100)
    .describe('Reserved batches whose mean gradient is the "true" gradient g.'),
  tailFraction: z
    .number()
    .positive()
    .max(0.5)
    .default(0.1)
    .describe("Hill's tail size as a fraction of the samples (at least 10 samples)."),
});

export type GradientNoiseConfig = z.output<typeof gradientNoiseConfig>;

/** What one evaluation records besides the value (the value is noise.hill.alpha). */
export interface GradientNoiseData {
  [key: string]: unknown;
  noise: TailSummary;
  control: TailSummary;
  heavierThanGaussian: boolean;
  comparison: ReturnType<typeof compareTails>;
  /** ‖g‖₂ of the true gradient. */
  trueGradientNorm: number;
  /** ‖g_B − g‖₂ for each sampled batch, in order. */
  noiseNorms: number[];
  /** The Gaussian control's norms. */
  controlNorms: number[];
  settings: {
    samples: number;
    trueBatches: number;
    batchSize: number;
    tailFraction: number;
    /** Hill's k. */
    tailSize: number;
    /** Trainable parameters. */
    parameters: number;
    /** The reserved dataset steps used: true gradient, then samples. */
    trueBatchSteps: [number, number];
    sampleBatchSteps: [number, number];
  };
}

/**
 * The gradient of dataset batch `step` over the trainable blocks, flattened, on the host; the
 * batch's tensors are created and disposed inside the tidy.
 */
function batchGradient(
  target: AnalysisTarget,
  trainable: ParamSet,
  step: number,
): { grad: Float32Array; size: number } {
  let size = 0;
  const flat = tf.tidy(() => {
    const batch = target.dataset.batch(step);
    size = batch.inputs.shape[0] ?? 1;
    const { grads } = valueAndGrad(target.lossOn(batch), target.params, { wrt: trainable });
    return trainable.concat(grads);
  });
  const grad = flat.dataSync() as Float32Array;
  flat.dispose();
  return { grad, size };
}

export function gradientNoise(
  target: AnalysisTarget,
  config: GradientNoiseConfig,
  seed: number,
): AnalysisOutput & { value?: number; data: Partial<GradientNoiseData> } {
  const { samples, trueBatches, tailFraction } = config;
  const trainable = target.params.trainable();
  const P = trainable.size;
  if (samples * P > GRADIENT_NOISE_FLOAT_LIMIT) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `gradient-noise would keep ${samples} noise vectors of ${P} parameters (${((samples * P * 4) / 2 ** 30).toFixed(1)} GiB) on the host`,
      { hint: `lower samples to at most ${Math.floor(GRADIENT_NOISE_FLOAT_LIMIT / P)}` },
    );
  }
  let batchSize: number | undefined;
  const gradientOf = (step: number): Float32Array => {
    const { grad, size } = batchGradient(target, trainable, step);
    if (batchSize === undefined) batchSize = size;
    else if (size !== batchSize) {
      throw new TdxError(
        'SHAPE_MISMATCH',
        `gradient-noise needs batches of one size: dataset batch ${step} has ${size} examples, batch -1 had ${batchSize}`,
        { hint: 'use a dataset whose batches all have the same size' },
      );
    }
    return grad;
  };

  // The true gradient, accumulated in float64.
  const g = new Float64Array(P);
  for (let t = 0; t < trueBatches; t++) {
    const grad = gradientOf(-1 - t);
    for (let i = 0; i < P; i++) g[i]! += grad[i]!;
  }
  for (let i = 0; i < P; i++) g[i]! /= trueBatches;

  // The noise vectors g_B − g (kept in float32 for the control) and their norms.
  const noise = new Float32Array(samples * P);
  const noiseNorms = new Float64Array(samples);
  for (let j = 0; j < samples; j++) {
    const grad = gradientOf(-1 - trueBatches - j);
    let ss = 0;
    for (let i = 0; i < P; i++) {
      const e = grad[i]! - g[i]!;
      noise[j * P + i] = e;
      ss += e * e;
    }
    noiseNorms[j] = Math.sqrt(ss);
  }
  const gg = dot(g, g);

  const settings: GradientNoiseData['settings'] = {
    samples,
    trueBatches,
    batchSize: batchSize!,
    tailFraction,
    tailSize: hillTailSize(samples, tailFraction),
    parameters: P,
    trueBatchSteps: [-1, -trueBatches],
    sampleBatchSteps: [-1 - trueBatches, -trueBatches - samples],
  };
  if (!noiseNorms.every((x) => x > 0 && Number.isFinite(x))) {
    return {
      data: {
        reason: noiseNorms.every(Number.isFinite)
          ? 'some minibatch gradients equal the true gradient exactly: no noise to measure'
          : 'some gradients are not finite',
        trueGradientNorm: Math.sqrt(gg),
        noiseNorms: Array.from(noiseNorms),
        settings,
      },
    };
  }

  // The control's norms, by whichever way is cheaper (the same weights, the same norms).
  const rng = new Rng(seed);
  const controlNorms =
    P > samples
      ? gaussianControlNormsFromGram(gramMatrix(noise, samples, P), samples, samples, rng)
      : gaussianControlNormsFromRows(noise, samples, P, samples, rng);
  const noiseStats = tailSummary(noiseNorms, { tailFraction });
  const controlStats = tailSummary(controlNorms, { tailFraction });
  const comparison = compareTails(noiseStats, controlStats);
  const data: GradientNoiseData = {
    noise: noiseStats,
    control: controlStats,
    heavierThanGaussian: comparison.heavier,
    comparison,
    trueGradientNorm: Math.sqrt(gg),
    noiseNorms: Array.from(noiseNorms),
    controlNorms: Array.from(controlNorms),
    settings,
  };
  return { value: noiseStats.hill.alpha, data };
}

type Runs = Parameters<NonNullable<AnalysisInstance['figures']>>[0];

const isNumbers = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'number');

/** Per run, at its last evaluation, the histogram; the tail indices over steps when measured more than once. */
export function gradientNoiseFigures(runs: Runs): FigureSpec[] {
  const figures: FigureSpec[] = [];
  for (const { run, file } of runs) {
    const last = file.records.findLast((r) => isNumbers(r.noiseNorms) && isNumbers(r.controlNorms));
    if (!last) continue;
    const noiseNorms = last.noiseNorms as number[];
    const controlNorms = last.controlNorms as number[];
    const noise = last.noise as TailSummary | undefined;
    const control = last.control as TailSummary | undefined;
    const settings = last.settings as GradientNoiseData['settings'] | undefined;
    const alpha = (s: TailSummary | undefined) =>
      s && typeof s.hill.alpha === 'number'
        ? `${s.hill.alpha.toPrecision(3)} ± ${s.hill.standardError.toPrecision(2)}`
        : 'n/a';
    figures.push({
      kind: 'histogram',
      id: `${file.label}-${run.label}-step${last.step}`,
      title: `Stochastic gradient noise, ${run.label}, step ${last.step}`,
      caption:
        `Density of ‖g_B − g‖₂ over ${noiseNorms.length} minibatch gradients` +
        (settings ? ` (batch ${settings.batchSize}; g from ${settings.trueBatches} batches)` : '') +
        `, against Gaussian vectors with the noise's mean and covariance (Ahn et al. 2023). ` +
        `Hill tail index (top ${settings ? Math.round(settings.tailFraction * 100) : 10}%): noise ${alpha(noise)}, control ${alpha(control)}` +
        (typeof last.heavierThanGaussian === 'boolean'
          ? `; heavier than Gaussian: ${last.heavierThanGaussian ? 'yes' : 'no'}.`
          : '.'),
      x: { label: 'gradient error ‖g_B − g‖₂' },
      series: [
        { name: 'stochastic gradient noise', values: noiseNorms },
        { name: 'Gaussian control', values: controlNorms },
      ],
      bins: Math.min(100, Math.max(20, Math.round(Math.sqrt(noiseNorms.length)))),
      density: true,
    });
  }
  const over = runs.filter(
    ({ file }) => file.records.filter((r) => typeof r.value === 'number').length > 1,
  );
  if (over.length > 0) {
    const series = over.flatMap(({ run, file }) =>
      (['noise', 'control'] as const).map((which) => {
        const points = file.records.flatMap((r) => {
          const s = r[which] as TailSummary | undefined;
          const a = s?.hill.alpha;
          return typeof a === 'number' && Number.isFinite(a) && a > 0
            ? [{ x: r.step, y: a, se: s!.hill.standardError }]
            : [];
        });
        return {
          name: `${run.label}, ${which === 'noise' ? 'noise' : 'Gaussian control'}`,
          points: points.map(({ x, y }) => ({ x, y })),
          band: points.map(({ x, y, se }) => ({ x, lo: Math.max(y - se, y / 10), hi: y + se })),
        };
      }),
    );
    figures.push({
      kind: 'lines',
      id: `${over[0]!.file.label}-tail-index`,
      title: 'Tail index of the stochastic gradient noise over training',
      caption:
        'Hill’s tail index of ‖g_B − g‖₂ and of its Gaussian control, ± one standard error (α̂/√k); smaller is heavier.',
      x: { label: 'step' },
      y: { label: 'tail index α̂', log: true },
      series: series.filter((s) => s.points.length > 0),
    });
  }
  return figures;
}

export const gradientNoisePlugin = definePlugin({
  kind: 'analysis',
  name: 'gradient-noise',
  title: 'gradient-noise tail index α̂',
  description:
    'stochastic-gradient noise ‖g_B − g‖ at the current parameters: Hill tail index, quantile ratios and kurtosis against a Gaussian control (Ahn et al. 2023)',
  config: gradientNoiseConfig,
  create: (config): AnalysisInstance => ({
    run: (target, ctx) => gradientNoise(target, config, ctx.seed),
    figures: gradientNoiseFigures,
  }),
});
