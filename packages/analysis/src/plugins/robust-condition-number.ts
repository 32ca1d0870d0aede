/**
 * The robust condition number of the Hessian's diagonal (Jiang et al. 2022, as Ahn et al. 2023
 * use it): R_med = max_i |H_ii| / median_i |H_ii|, H the Hessian of the analysis batch's loss
 * with respect to the trainable parameters. The median is that of torch.median, which Ahn et
 * al.'s code calls: for an even count, the lower of the two middle values.
 *
 * The diagonal is exact (e_iᵀ H e_i, one Hessian-vector product per parameter) up to
 * `exactLimit` parameters, else Hutchinson's estimate E[z ⊙ Hz] over Rademacher probes.
 */
import { definePlugin, z, type AnalysisInstance, type AnalysisOutput } from '@tdx/core';
import type { AnalysisTarget } from '@tdx/tensor';
import { analysisBatches, batchesConfig } from '../curvature/config.js';
import { EXACT_DIAGONAL_LIMIT, hessianDiagonal } from '../curvature/hessian-diagonal.js';
import { hessianOperator } from '../curvature/operators.js';

/** Up to this dimension the diagonal itself is recorded with each evaluation. */
export const RECORDED_DIAGONAL_LIMIT = 2000;

export const robustConditionNumberConfig = z.object({
  method: z
    .enum(['auto', 'exact', 'hutchinson'])
    .default('auto')
    .describe(
      '`exact` (e_iᵀ H e_i), `hutchinson` (E[z ⊙ Hz]), or `auto`: exact up to `exactLimit`.',
    ),
  exactLimit: z
    .number()
    .int()
    .positive()
    .default(EXACT_DIAGONAL_LIMIT)
    .describe('Largest number of parameters whose diagonal is computed exactly (one HVP each).'),
  probes: z
    .number()
    .int()
    .positive()
    .default(100)
    .describe('Rademacher probes of the Hutchinson estimate.'),
  ...batchesConfig,
});

/** The lower median (torch.median): the ⌊(n−1)/2⌋-th smallest value. */
export function lowerMedian(values: ArrayLike<number>): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[(sorted.length - 1) >> 1]!;
}

/** max_i |d_i| / median_i |d_i|, with the max, the median and where the max is. */
export function robustConditionNumberOf(diagonal: ArrayLike<number>): {
  value: number;
  max: number;
  median: number;
  argmax: number;
} {
  const abs = Float64Array.from(diagonal, Math.abs);
  let argmax = 0;
  for (let i = 1; i < abs.length; i++) if (abs[i]! > abs[argmax]!) argmax = i;
  const max = abs[argmax]!;
  const median = lowerMedian(abs);
  return { value: max / median, max, median, argmax };
}

export function robustConditionNumber(
  target: AnalysisTarget,
  config: z.output<typeof robustConditionNumberConfig>,
  seed: number,
): AnalysisOutput {
  const trainable = target.params.trainable();
  const { batches, release } = analysisBatches(target, config.batches, config.examples);
  try {
    const op = hessianOperator(target.lossOn, target.params, batches, {
      wrt: trainable,
      aggregate: config.aggregate,
    });
    const estimate = hessianDiagonal(op, {
      method: config.method,
      exactLimit: config.exactLimit,
      probes: config.probes,
      seed,
    });
    const { value, max, median, argmax } = robustConditionNumberOf(estimate.diagonal);
    // The block holding the largest |H_ii|.
    const offsets = trainable.offsets();
    let block = 0;
    while (block + 1 < offsets.length && offsets[block + 1]! <= argmax) block++;
    const data: Record<string, unknown> = {
      method: estimate.method,
      ...(estimate.probes === undefined ? {} : { probes: estimate.probes }),
      max,
      median,
      dimension: op.dimension,
      maxBlock: trainable.blocks[block]?.name,
      ...(op.dimension <= RECORDED_DIAGONAL_LIMIT
        ? { diagonal: Array.from(estimate.diagonal) }
        : {}),
    };
    // A zero median (more than half the diagonal vanishes) leaves R_med undefined.
    if (!Number.isFinite(value))
      return { data: { ...data, reason: 'the median of |H_ii| is 0: R_med is undefined' } };
    return { value, data };
  } finally {
    release();
  }
}

export const robustConditionNumberPlugin = definePlugin({
  kind: 'analysis',
  name: 'robust-condition-number',
  title: 'robust condition number R_med',
  description:
    'R_med = max_i |H_ii| / median_i |H_ii| of the Hessian diagonal (Jiang et al. 2022; Ahn et al. 2023), exact or by Hutchinson',
  config: robustConditionNumberConfig,
  create: (config): AnalysisInstance => ({
    run: (target, ctx) => robustConditionNumber(target, config, ctx.seed),
  }),
});
