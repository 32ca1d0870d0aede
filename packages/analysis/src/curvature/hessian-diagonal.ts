/**
 * The diagonal of a curvature operator (a Hessian) from Hessian-vector products: exactly, as
 * H_ii = e_iᵀ H e_i (one product per coordinate), or by Hutchinson's diagonal estimator
 * diag(H) = E[z ⊙ Hz] over Rademacher vectors z (Bekas, Kokiopoulou & Saad 2007), which needs a
 * number of products independent of the dimension. Host arithmetic in float64.
 */
import { TdxError } from '@tdx/core';
import { randomStart } from '../spectral/lanczos.js';
import type { CurvatureOperator } from './operators.js';

/** Dimension up to which `auto` computes the diagonal exactly. */
export const EXACT_DIAGONAL_LIMIT = 2000;

export type DiagonalMethod = 'auto' | 'exact' | 'hutchinson';

export interface HessianDiagonalOptions {
  /** `auto` (default): exact up to `exactLimit` dimensions, else Hutchinson. */
  method?: DiagonalMethod;
  /** Largest dimension computed exactly (default 2000): one HVP per coordinate. */
  exactLimit?: number;
  /** Rademacher probes of the Hutchinson estimate (default 100). */
  probes?: number;
  /** Seed of the probes (default 0). */
  seed?: number;
}

export interface HessianDiagonal {
  diagonal: Float64Array;
  method: 'exact' | 'hutchinson';
  /** Hutchinson only: the number of probes, and each entry's standard error over them. */
  probes?: number;
  standardError?: Float64Array;
}

/** H_ii = e_iᵀ H e_i for every i: `dimension` Hessian-vector products. */
export function exactHessianDiagonal(operator: CurvatureOperator): Float64Array {
  const n = operator.dimension;
  const out = new Float64Array(n);
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    e[i] = 1;
    out[i] = operator.apply(e)[i]!;
    e[i] = 0;
  }
  return out;
}

/**
 * The mean of z ⊙ Hz over `probes` Rademacher vectors z (z ⊙ z = 1, so no normalisation is
 * needed): unbiased, with variance Σ_{j≠i} H_ij² / probes for entry i. Probe k is drawn as
 * hutchinsonTrace draws it, from seed · 7919 + k.
 */
export function hutchinsonHessianDiagonal(
  operator: CurvatureOperator,
  probes: number,
  seed = 0,
): { diagonal: Float64Array; standardError: Float64Array } {
  if (!Number.isInteger(probes) || probes < 1)
    throw new TdxError('INVALID_ARGUMENT', `probes must be a positive integer, got ${probes}`);
  const n = operator.dimension;
  // Welford's running mean and sum of squared deviations, per entry.
  const mean = new Float64Array(n);
  const m2 = new Float64Array(n);
  for (let k = 0; k < probes; k++) {
    const z = randomStart(n, 'rademacher', seed * 7919 + k);
    const hz = operator.apply(z);
    for (let i = 0; i < n; i++) {
      const sample = z[i]! * hz[i]!;
      const delta = sample - mean[i]!;
      mean[i]! += delta / (k + 1);
      m2[i]! += delta * (sample - mean[i]!);
    }
  }
  const standardError = m2.map((s) => (probes > 1 ? Math.sqrt(s / (probes - 1) / probes) : 0));
  return { diagonal: mean, standardError };
}

/** The diagonal of `operator` by the method asked for (see HessianDiagonalOptions). */
export function hessianDiagonal(
  operator: CurvatureOperator,
  options: HessianDiagonalOptions = {},
): HessianDiagonal {
  const method = options.method ?? 'auto';
  const exactLimit = options.exactLimit ?? EXACT_DIAGONAL_LIMIT;
  const probes = options.probes ?? 100;
  const exact = method === 'exact' || (method === 'auto' && operator.dimension <= exactLimit);
  if (exact) {
    if (operator.dimension > exactLimit) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `the exact diagonal of ${operator.name} needs ${operator.dimension} Hessian-vector products, more than exactLimit (${exactLimit})`,
        {
          hint: 'use method: hutchinson (or auto), or raise exactLimit if the time is acceptable',
        },
      );
    }
    return { diagonal: exactHessianDiagonal(operator), method: 'exact' };
  }
  const { diagonal, standardError } = hutchinsonHessianDiagonal(
    operator,
    probes,
    options.seed ?? 0,
  );
  return { diagonal, method: 'hutchinson', probes, standardError };
}
