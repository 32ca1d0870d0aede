/**
 * Quadratic problems min ½ wᵀHw − hᵀw with block-diagonal H (Zhang et al. 2024, §4): the
 * setting where one learning rate for every block (GD) pays for the global condition number,
 * while a rate per block (and Adam, approximately) pays only for the worst block's.
 *
 * Constructions, all with the same global condition number κ:
 * - `heterogeneous`: block b's eigenvalues span a ratio κ_block at its own scale; the scales are
 *   geometric from 1 to κ/κ_block, so blocks differ by orders of magnitude;
 * - `homogeneous`: every block's eigenvalues span the whole range [1, κ];
 * - `custom`: each block's range given;
 * - `measured`: each block's eigenvalues sampled from a measured Hessian block's spectrum, or
 *   given inline, then mapped onto [1, κ] (measured-spectra.ts).
 * Eigenvalues are log-spaced within each range (but `measured`); each block is rotated by a random orthogonal
 * matrix. The batch is the problem itself: inputs [1, n, n] = H, targets [1, 2, n] = [h; w*]
 * with w* = H⁻¹h computed in float64, so a model can evaluate the suboptimality as
 * ½(w − w*)ᵀH(w − w*) without the cancellation of ½wᵀHw − hᵀw − f* in float32.
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import { Rng, tf, type Batch, type Dataset, type DatasetInfo } from '@tdx/tensor';
import { randomRotation } from './random-rotation.js';
import { estimateQuadratic } from './estimates.js';
import { measuredSpectra } from './measured-spectra.js';

const spectraSource = z.strictObject({
  experiment: z
    .string()
    .min(1)
    .describe('An experiment folder (runs/<spec name>), relative to the working directory.'),
  model: z.string().min(1).describe("The model's label in that experiment."),
  analysis: z
    .string()
    .min(1)
    .default('hessian-spectrum')
    .describe('Label of its hessian-spectrum or block-heterogeneity analysis.'),
  step: z.number().int().nonnegative().default(0).describe('The step of the spectra.'),
  seed: z.number().int().nonnegative().optional().describe('Whose run (default: the lowest seed).'),
  blocks: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('Block names, in order (default: every block but the full Hessian H).'),
});

export const quadraticConfig = z
  .object({
    construction: z
      .enum(['heterogeneous', 'homogeneous', 'custom', 'measured'])
      .default('heterogeneous'),
    blocks: z.number().int().positive().default(4),
    blockSize: z.number().int().positive().default(25),
    conditionNumber: z.number().gt(1).default(5000).describe('κ = λmax(H) / λmin(H).'),
    blockConditionNumber: z
      .number()
      .gte(1)
      .default(10)
      .describe('Heterogeneous: the condition number within each block.'),
    ranges: z
      .array(z.strictObject({ min: z.number().positive(), max: z.number().positive() }))
      .optional()
      .describe("Custom: each block's eigenvalue range."),
    spectra: spectraSource
      .optional()
      .describe(
        'Measured: the blocks of a recorded Hessian spectrum; each block takes blockSize quantiles of its SLQ measure.',
      ),
    eigenvalues: z
      .array(z.array(z.number()).min(1))
      .min(1)
      .optional()
      .describe("Measured: each block's eigenvalues, inline (instead of spectra)."),
    rescale: z
      .enum(['magnitude', 'affine', 'none'])
      .default('magnitude')
      .describe(
        'Measured: onto [1, κ] by |λ| scaled (magnitude), by one affine map (affine), or as given (none).',
      ),
    seed: z.number().int().nonnegative().optional(),
  })
  .refine((c) => c.construction !== 'custom' || (c.ranges?.length ?? 0) > 0, {
    message: 'construction: custom needs ranges: [{ min, max }, ...]',
    path: ['ranges'],
  })
  .refine(
    (c) =>
      c.construction !== 'measured' || (c.spectra === undefined) !== (c.eigenvalues === undefined),
    {
      message: 'construction: measured needs one of spectra: { experiment, model } or eigenvalues',
      path: ['spectra'],
    },
  )
  .refine(
    (c) => c.construction !== 'heterogeneous' || c.blockConditionNumber <= c.conditionNumber,
    {
      message: 'blockConditionNumber cannot exceed conditionNumber',
      path: ['blockConditionNumber'],
    },
  );

export type QuadraticConfig = z.output<typeof quadraticConfig>;

/** Each block's eigenvalue range under a construction. */
export function blockRanges(config: QuadraticConfig): Array<{ min: number; max: number }> {
  if (config.construction === 'custom') return config.ranges!;
  const kappa = config.conditionNumber;
  if (config.construction === 'homogeneous')
    return Array.from({ length: config.blocks }, () => ({ min: 1, max: kappa }));
  const top = kappa / config.blockConditionNumber;
  return Array.from({ length: config.blocks }, (_, b) => {
    const scale = config.blocks === 1 ? 1 : top ** (b / (config.blocks - 1));
    return { min: scale, max: scale * config.blockConditionNumber };
  });
}

/** Each block's eigenvalues under a construction. */
export function blockSpectra(config: QuadraticConfig): number[][] {
  if (config.construction === 'measured') return measuredSpectra(config).eigenvalues;
  return blockRanges(config).map((range, b) => {
    if (range.min > range.max)
      throw new TdxError(
        'INVALID_ARGUMENT',
        `block ${b}: min ${range.min} is above max ${range.max}`,
      );
    const size = config.blockSize;
    return Array.from({ length: size }, (_, i) =>
      size === 1 ? range.max : range.min * (range.max / range.min) ** (i / (size - 1)),
    );
  });
}

export interface QuadraticProblem {
  /** Dense H (row-major, n × n), block-diagonal. */
  H: Float64Array;
  h: Float64Array;
  n: number;
  blockSizes: number[];
  eigenvalues: number[][];
  /** The minimum value −½ hᵀH⁻¹h. */
  optimum: number;
  /** The minimiser H⁻¹h. */
  minimiser: Float64Array;
}

export function quadraticProblem(config: QuadraticConfig, seed: number): QuadraticProblem {
  const rng = new Rng(config.seed ?? seed);
  const spectra = blockSpectra(config);
  const blockSizes = spectra.map((b) => b.length);
  const n = blockSizes.reduce((a, b) => a + b, 0);
  const H = new Float64Array(n * n);
  const h = rng.normalArray(n);
  const eigenvalues: number[][] = [];
  let optimum = 0;
  const minimiser = new Float64Array(n);
  let offset = 0;
  for (const [b, lambda] of spectra.entries()) {
    const size = blockSizes[b]!;
    eigenvalues.push(lambda);
    const Q = randomRotation(size, rng);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        let s = 0;
        for (let k = 0; k < size; k++) s += Q[k]![i]! * lambda[k]! * Q[k]![j]!;
        H[(offset + i) * n + offset + j] = s;
      }
    }
    // The block's share of −½ hᵀH⁻¹h, in the eigenbasis: −½ Σ (qₖ·h_b)² / λₖ.
    for (let k = 0; k < size; k++) {
      let c = 0;
      for (let i = 0; i < size; i++) c += Q[k]![i]! * h[offset + i]!;
      optimum -= (0.5 * c * c) / lambda[k]!;
      for (let i = 0; i < size; i++) minimiser[offset + i]! += (Q[k]![i]! * c) / lambda[k]!;
    }
    offset += size;
  }
  return { H, h, n, blockSizes, eigenvalues, optimum, minimiser };
}

export function createQuadratic(config: QuadraticConfig, seed: number): Dataset {
  const problem = quadraticProblem(config, seed);
  const info: DatasetInfo = {
    task: 'quadratic',
    inputShape: [problem.n, problem.n],
    targetShape: [2, problem.n],
    meta: {
      blockSizes: problem.blockSizes.join(','),
      conditionNumber: config.conditionNumber,
      optimum: problem.optimum,
      construction: config.construction,
    },
  };
  let batch: Batch | undefined;
  const make = (): Batch =>
    (batch ??= {
      inputs: tf.keep(tf.tensor3d(Float32Array.from(problem.H), [1, problem.n, problem.n])),
      targets: tf.keep(
        tf.tensor3d(Float32Array.from([...problem.h, ...problem.minimiser]), [1, 2, problem.n]),
      ),
    });
  return {
    info,
    // The problem is deterministic: every step sees it whole. The caller owns the tensors it gets.
    batch: () => ({ inputs: tf.clone(make().inputs), targets: tf.clone(make().targets) }),
    evalBatch: make,
    dispose: () => {
      if (batch) tf.dispose([batch.inputs, batch.targets]);
      batch = undefined;
    },
  };
}

export const quadratic = definePlugin({
  kind: 'dataset',
  name: 'quadratic',
  description:
    'min ½wᵀHw − hᵀw with block-diagonal H: heterogeneous or homogeneous blocks of one condition number (Zhang et al. 2024)',
  config: quadraticConfig,
  create: (config, ctx): Dataset => createQuadratic(config, ctx.seed),
  estimate: estimateQuadratic,
});
