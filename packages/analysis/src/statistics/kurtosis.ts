/**
 * Sample excess kurtosis g2 = m4 / m2² − 3, with the central moments m_r = (1/n) Σ (x − x̄)^r
 * (scipy.stats.kurtosis with its defaults fisher=True, bias=True). 0 for a Gaussian, 3 for a
 * Laplace (whose kurtosis m4/m2² is 6), 6 for an exponential, −1.2 for a uniform distribution;
 * large for heavy tails (infinite in the population when the fourth moment is, i.e. for a tail
 * index α ≤ 4, where the sample value grows with n).
 */
import { TdxError } from '@tdx/core';

export function excessKurtosis(samples: ArrayLike<number>): number {
  const n = samples.length;
  if (n < 2) throw new TdxError('INVALID_ARGUMENT', `kurtosis needs at least 2 samples, got ${n}`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += samples[i]!;
  mean /= n;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = samples[i]! - mean;
    const d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= n;
  m4 /= n;
  // Constant samples: undefined (NaN, null in JSON).
  return m2 > 0 ? m4 / (m2 * m2) - 3 : NaN;
}
