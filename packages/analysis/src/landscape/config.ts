/** The loss-landscape config: which directions, how far, how many points. */
import { TdxError, z } from '@tdx/core';
import { NORMALIZATIONS, ONE_DIMENSIONAL } from './random-direction.js';

/**
 * A direction: `random` (filter-normalised Gaussian by default), `hessian` (the first entry is
 * the top eigenvector, a second `hessian` the next one), `initial` (towards the run's step-0
 * parameters), or `{ run: <run folder> }` (towards another run's saved parameters).
 */
export const directionSchema = z.union([
  z.enum(['random', 'hessian', 'initial']),
  z.strictObject({ run: z.string().min(1) }),
]);
export type DirectionRef = z.output<typeof directionSchema>;

const pair = z
  .tuple([z.number(), z.number()])
  .refine(([lo, hi]) => Number.isFinite(lo) && Number.isFinite(hi) && lo < hi, {
    message: 'a range is [low, high] with low < high',
  });

/** Most points per axis; a 201 × 201 grid is already 40,401 forward passes. */
export const MAX_POINTS_PER_AXIS = 201;

export const lossLandscapeConfig = z
  .object({
    directions: z
      .array(directionSchema)
      .min(1)
      .max(2)
      .default(['random', 'random'])
      .describe(
        'One direction: a 1-D slice; two: a 2-D grid. Default: two filter-normalised random ones.',
      ),
    range: z
      .union([pair, z.array(pair).min(1).max(2)])
      .optional()
      .describe(
        'Coordinates along each direction: one [low, high] for every axis, or one per direction. Default [-1, 1] for random and Hessian directions, [-0.5, 1.5] towards an endpoint (0 is the current point, 1 the endpoint).',
      ),
    points: z
      .number()
      .int()
      .min(2)
      .max(MAX_POINTS_PER_AXIS)
      .optional()
      .describe(
        'Points per axis (default 51 for a 1-D slice, 21 for a 2-D grid: 441 forward passes of the analysis batch, plus one at the centre).',
      ),
    normalization: z
      .enum(NORMALIZATIONS)
      .default('filter')
      .describe('Random directions: `filter` (Li et al.), `layer` (whole tensors) or `none`.'),
    oneDimensional: z
      .enum(ONE_DIMENSIONAL)
      .default('zero')
      .describe(
        "Random directions on 1-D blocks (biases, norms): `zero` (Li et al.'s default), `filter`, `keep`, `weights`.",
      ),
    seed: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        "Seed of the random directions; default: the evaluation's seed (new directions each step).",
      ),
    lanczosSteps: z
      .number()
      .int()
      .min(2)
      .default(40)
      .describe('Hessian directions: Lanczos steps (at most the dimension).'),
    which: z
      .enum(['largest', 'magnitude'])
      .default('largest')
      .describe(
        'Hessian directions: `largest` (algebraically: the sharpest curvature) or `magnitude`.',
      ),
    scale: z
      .enum(['auto', 'linear', 'log'])
      .default('auto')
      .describe(
        'Figures: the loss on a `linear` or `log` scale; `auto`: log when it spans > 2 decades.',
      ),
    pointsPerPart: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Parallel parts: points per part (default: one row of the grid, or the whole slice).',
      ),
  })
  .superRefine((c, ctx) => {
    const kinds = c.directions.map((d) => (typeof d === 'string' ? d : `run:${d.run}`));
    for (const kind of ['initial', ...kinds.filter((k) => k.startsWith('run:'))]) {
      if (kinds.filter((k) => k === kind).length > 1)
        ctx.addIssue({
          code: 'custom',
          path: ['directions'],
          message: `the direction ${kind} is given twice: the two axes would be the same line`,
        });
    }
    if (Array.isArray(c.range?.[0]) && (c.range as unknown[]).length !== c.directions.length)
      ctx.addIssue({
        code: 'custom',
        path: ['range'],
        message: `${(c.range as unknown[]).length} ranges for ${c.directions.length} directions: give one [low, high] for all, or one per direction`,
      });
  });

export type LossLandscapeConfig = z.output<typeof lossLandscapeConfig>;

export type DirectionKind = 'random' | 'hessian' | 'initial' | 'run';

export const directionKind = (d: DirectionRef): DirectionKind =>
  typeof d === 'string' ? d : 'run';

/** The [low, high] of each axis. */
export function axisRanges(config: LossLandscapeConfig): Array<[number, number]> {
  return config.directions.map((d, k) => {
    const r = config.range;
    if (r === undefined)
      return directionKind(d) === 'random' || directionKind(d) === 'hessian'
        ? [-1, 1]
        : [-0.5, 1.5];
    return (Array.isArray(r[0]) ? (r as Array<[number, number]>)[k]! : r) as [number, number];
  });
}

export function axisPoints(config: LossLandscapeConfig): number {
  return config.points ?? (config.directions.length === 1 ? 51 : 21);
}

/** n evenly spaced values from low to high, both included (low + (high − low)·i/(n − 1)). */
export function linspace(low: number, high: number, n: number): number[] {
  if (n < 2) throw new TdxError('INVALID_ARGUMENT', `linspace needs at least 2 points, got ${n}`);
  return Array.from({ length: n }, (_, i) =>
    i === n - 1 ? high : low + ((high - low) * i) / (n - 1),
  );
}
