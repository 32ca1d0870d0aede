/**
 * Sample quantiles and the high-quantile ratios q0.99/q0.5 and q0.999/q0.5: scale-free measures
 * of how far the tail reaches beyond the bulk (for an exponential distribution, ln 100 / ln 2 ≈
 * 6.64 and ln 1000 / ln 2 ≈ 9.97, whatever the rate).
 */
import { TdxError } from '@tdx/core';

/**
 * The p-quantile of ascending-sorted samples, by linear interpolation between order statistics
 * (Hyndman and Fan's type 7, the default of numpy and R): position h = (n − 1) p.
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new TdxError('INVALID_ARGUMENT', 'the quantile of no samples is undefined');
  if (!(p >= 0 && p <= 1)) {
    throw new TdxError('INVALID_ARGUMENT', `a quantile's level must lie in [0, 1], got ${p}`);
  }
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** The p-quantile of samples in any order (type 7). */
export function quantile(samples: ArrayLike<number>, p: number): number {
  return quantileSorted(Float64Array.from(samples).sort(), p);
}

export interface QuantileRatios {
  q50: number;
  q99: number;
  q999: number;
  /** q0.99 / q0.5. */
  q99OverQ50: number;
  /** q0.999 / q0.5 (with fewer than 1000 samples, close to the maximum over the median). */
  q999OverQ50: number;
}

export function quantileRatios(samples: ArrayLike<number>): QuantileRatios {
  const sorted = Float64Array.from(samples).sort();
  const q50 = quantileSorted(sorted, 0.5);
  const q99 = quantileSorted(sorted, 0.99);
  const q999 = quantileSorted(sorted, 0.999);
  return { q50, q99, q999, q99OverQ50: q99 / q50, q999OverQ50: q999 / q50 };
}
