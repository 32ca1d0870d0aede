/**
 * Hill's estimator of the tail index (Hill 1975). For n positive samples sorted in decreasing
 * order X_(1) ≥ … ≥ X_(n) and a tail size k < n,
 *
 *   α̂ = 1 / ( (1/k) Σ_{i=1..k} log(X_(i) / X_(k+1)) ),
 *
 * the maximum-likelihood estimate of α when the k exceedances over X_(k+1) are Pareto(α) (a
 * tail P(X > x) ~ x^(−α)). Its asymptotic standard error is α̂ / √k. For a distribution whose
 * tail is only regularly varying (Student-t, say) α̂ carries a bias that grows with k/n; for a
 * light (Gaussian, exponential) tail there is no finite α and α̂ grows without bound as k/n → 0.
 */
import { TdxError } from '@tdx/core';

/** The default tail size, as a fraction of the samples: the 10% largest. */
export const DEFAULT_TAIL_FRACTION = 0.1;

/** The smallest tail size used when there are enough samples (fewer make α̂ meaningless). */
export const MIN_TAIL_SIZE = 10;

export interface HillEstimate {
  /** α̂, the tail index (Infinity when the k largest samples all equal X_(k+1)). */
  alpha: number;
  /** α̂ / √k, the asymptotic standard error. */
  standardError: number;
  /** The tail size: the k largest samples. */
  k: number;
  /** The number of samples. */
  n: number;
  /** X_(k+1), the threshold the tail is measured from. */
  threshold: number;
}

/**
 * The tail size for n samples: round(fraction · n), at least MIN_TAIL_SIZE (or n − 1 when
 * there are fewer samples), at most n − 1.
 */
export function hillTailSize(n: number, fraction = DEFAULT_TAIL_FRACTION): number {
  if (!Number.isInteger(n) || n < 2) {
    throw new TdxError('INVALID_ARGUMENT', `Hill's estimator needs at least 2 samples, got ${n}`);
  }
  if (!(fraction > 0 && fraction < 1)) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `the tail fraction must lie in (0, 1), got ${fraction}`,
      { hint: 'the default is 0.1: the 10% largest samples' },
    );
  }
  const minimum = Math.min(MIN_TAIL_SIZE, n - 1);
  return Math.min(n - 1, Math.max(minimum, Math.round(fraction * n)));
}

/**
 * α̂ from positive, finite samples, on the k = hillTailSize(n, fraction) largest, or on an
 * explicit `k` (1 ≤ k < n).
 */
export function hillEstimator(
  samples: ArrayLike<number>,
  options: { fraction?: number; k?: number } = {},
): HillEstimate {
  const n = samples.length;
  for (let i = 0; i < n; i++) {
    const x = samples[i]!;
    if (!(x > 0) || !Number.isFinite(x)) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `Hill's estimator needs positive finite samples; sample ${i} is ${x}`,
        { hint: 'estimate the tail of |X| (or of a norm), and drop exact zeros' },
      );
    }
  }
  const k = options.k ?? hillTailSize(n, options.fraction);
  if (!Number.isInteger(k) || k < 1 || k >= n) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `the tail size k must satisfy 1 ≤ k < n = ${n}, got ${k}`,
    );
  }
  const sorted = Float64Array.from(samples).sort();
  const threshold = sorted[n - 1 - k]!;
  let sum = 0;
  for (let i = 0; i < k; i++) sum += Math.log(sorted[n - 1 - i]! / threshold);
  const alpha = sum > 0 ? k / sum : Infinity;
  return { alpha, standardError: alpha / Math.sqrt(k), k, n, threshold };
}
