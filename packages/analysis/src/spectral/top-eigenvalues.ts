/**
 * The k extreme eigenvalues of a symmetric operator by Lanczos with full reorthogonalisation:
 * Ritz values from m > k steps, with their residual bounds |β_m · last component| (how far each
 * Ritz pair is from an eigenpair).
 */
import { lanczos } from './lanczos.js';
import { tridiagonalEigen } from './tridiagonal-eigen.js';

export interface TopEigenvalues {
  /** Largest first (algebraically, or by magnitude with which = 'magnitude'). */
  values: number[];
  steps: number;
}

export function topEigenvalues(
  apply: (v: Float64Array) => Float64Array,
  dimension: number,
  options: { k: number; steps?: number; which?: 'largest' | 'magnitude'; seed?: number },
): TopEigenvalues {
  const steps = Math.min(dimension, options.steps ?? Math.max(2 * options.k + 20, 40));
  const {
    alpha,
    beta,
    steps: made,
  } = lanczos(apply, dimension, { steps, reorthogonalize: true, seed: options.seed ?? 0 });
  const { values } = tridiagonalEigen(alpha, beta);
  const sorted = Array.from(values).sort((a, b) =>
    options.which === 'magnitude' ? Math.abs(b) - Math.abs(a) : b - a,
  );
  return { values: sorted.slice(0, options.k), steps: made };
}
