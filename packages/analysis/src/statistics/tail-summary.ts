/**
 * The tail statistics of one positive sample (gradient-noise norms, say): location and spread,
 * Hill's tail index, the high-quantile ratios and the excess kurtosis.
 */
import { DEFAULT_TAIL_FRACTION, hillEstimator, type HillEstimate } from './hill.js';
import { excessKurtosis } from './kurtosis.js';
import { quantileRatios, type QuantileRatios } from './quantiles.js';

export interface TailSummary {
  n: number;
  mean: number;
  /** Standard deviation (divisor n − 1). */
  std: number;
  max: number;
  hill: HillEstimate;
  quantiles: QuantileRatios;
  excessKurtosis: number;
}

export function tailSummary(
  samples: ArrayLike<number>,
  options: { tailFraction?: number } = {},
): TailSummary {
  const n = samples.length;
  let mean = 0;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    mean += samples[i]!;
    max = Math.max(max, samples[i]!);
  }
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (samples[i]! - mean) ** 2;
  return {
    n,
    mean,
    std: Math.sqrt(ss / (n - 1)),
    max,
    hill: hillEstimator(samples, { fraction: options.tailFraction ?? DEFAULT_TAIL_FRACTION }),
    quantiles: quantileRatios(samples),
    excessKurtosis: excessKurtosis(samples),
  };
}
