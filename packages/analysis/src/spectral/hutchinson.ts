/** Hutchinson's trace estimator: tr(H) ≈ mean of vᵀHv over Rademacher vectors v. */
import { dot } from '@tdx/tensor';
import { randomStart } from './lanczos.js';

export interface TraceEstimate {
  trace: number;
  /** Standard error of the mean over probes. */
  standardError: number;
  samples: number[];
}

export function hutchinsonTrace(
  apply: (v: Float64Array) => Float64Array,
  dimension: number,
  probes: number,
  seed = 0,
): TraceEstimate {
  const samples = Array.from({ length: probes }, (_, k) => {
    const v = randomStart(dimension, 'rademacher', seed * 7919 + k);
    return dot(v, apply(v));
  });
  const mean = samples.reduce((s, x) => s + x, 0) / probes;
  const variance = probes > 1 ? samples.reduce((s, x) => s + (x - mean) ** 2, 0) / (probes - 1) : 0;
  return { trace: mean, standardError: Math.sqrt(variance / probes), samples };
}
