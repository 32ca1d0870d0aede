/**
 * The k extreme eigenpairs of a symmetric operator: Lanczos with full reorthogonalisation
 * (spectral/lanczos.ts, keeping its basis Q), the eigenpairs (θ, s) of its tridiagonal T, and
 * the Ritz vectors y = Q s. Each pair comes with its residual ‖A y − θ y‖ from one more
 * product, so results say how far each is from an eigenpair. Signs are fixed (the component of
 * largest magnitude is positive) so a seed gives the same vectors every time.
 *
 * Memory: the basis is steps × dimension float64 values.
 */
import { TdxError } from '@tdx/core';
import { norm } from '@tdx/tensor';
import { lanczos } from '../spectral/lanczos.js';
import { symmetricEigen } from '../spectral/symmetric-eigen.js';

export interface Eigenpair {
  value: number;
  /** Unit vector. */
  vector: Float64Array;
  /** ‖A y − θ y‖₂. */
  residual: number;
}

/** The most basis values kept on the host (2^27 float64: 1 GiB). */
export const EIGENVECTOR_BASIS_LIMIT = 2 ** 27;

export function topEigenvectors(
  apply: (v: Float64Array) => Float64Array,
  dimension: number,
  options: { k: number; steps: number; which?: 'largest' | 'magnitude'; seed?: number },
): { pairs: Eigenpair[]; steps: number } {
  const steps = Math.min(dimension, options.steps);
  if (steps * dimension > EIGENVECTOR_BASIS_LIMIT) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `the Lanczos basis for eigenvectors would hold ${steps} × ${dimension} float64 values (${((steps * dimension * 8) / 2 ** 30).toFixed(1)} GiB)`,
      {
        hint: `lower lanczosSteps to at most ${Math.floor(EIGENVECTOR_BASIS_LIMIT / dimension)}`,
      },
    );
  }
  const run = lanczos(apply, dimension, {
    steps,
    reorthogonalize: true,
    seed: options.seed ?? 0,
    keepBasis: true,
  });
  if (run.steps < options.k) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `Lanczos found only ${run.steps} eigenvector(s) (the start vector spans an invariant subspace of that size), ${options.k} were asked for`,
      { hint: 'use fewer Hessian directions, or another seed' },
    );
  }
  const m = run.steps;
  const T = Float64Array.from({ length: m * m }, (_, at) => {
    const [i, j] = [Math.floor(at / m), at % m];
    return i === j ? run.alpha[i]! : Math.abs(i - j) === 1 ? run.beta[Math.min(i, j)]! : 0;
  });
  const { values, vectors: columns } = symmetricEigen(T, m);
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) =>
    options.which === 'magnitude'
      ? Math.abs(values[b]!) - Math.abs(values[a]!)
      : values[b]! - values[a]!,
  );
  const basis = run.basis!;
  const pairs = order.slice(0, options.k).map((index) => {
    const s = Float64Array.from({ length: m }, (_, j) => columns[j * m + index]!);
    const y = new Float64Array(dimension);
    for (let j = 0; j < m; j++) {
      const q = basis[j]!;
      const c = s[j]!;
      for (let i = 0; i < dimension; i++) y[i]! += c * q[i]!;
    }
    // Renormalise (Q is orthonormal up to rounding) and fix the sign.
    let largest = 0;
    for (let i = 0; i < dimension; i++) if (Math.abs(y[i]!) > Math.abs(y[largest]!)) largest = i;
    const scale = (y[largest]! < 0 ? -1 : 1) / norm(y);
    for (let i = 0; i < dimension; i++) y[i]! *= scale;
    const value = values[index]!;
    const Ay = apply(y);
    let r = 0;
    for (let i = 0; i < dimension; i++) r += (Ay[i]! - value * y[i]!) ** 2;
    return { value, vector: y, residual: Math.sqrt(r) };
  });
  return { pairs, steps: m };
}
