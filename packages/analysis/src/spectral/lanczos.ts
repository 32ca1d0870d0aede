/**
 * The Lanczos process on the host, in float64: the tridiagonal matrix T = tridiag(β, α, β) of a
 * symmetric operator on the Krylov space of a start vector. Full reorthogonalisation (on by
 * default) keeps the basis orthogonal in finite precision, which keeps spurious copies of the
 * extreme eigenvalues ("ghosts") out of the Ritz values.
 */
import { axpy, dot, norm, Rng, scaled } from '@tdx/tensor';

export type StartDistribution = 'gaussian' | 'rademacher';

export interface LanczosOptions {
  /** Number of steps m (the size of T), at most the dimension. */
  steps: number;
  /** Orthogonalise each new vector against the whole basis (twice, for stability). */
  reorthogonalize?: boolean;
  /** The start vector (normalised here); otherwise a random one. */
  start?: Float64Array;
  startDistribution?: StartDistribution;
  seed?: number;
  /** Keep the basis vectors (for Ritz vectors); memory steps × dimension. */
  keepBasis?: boolean;
}

export interface LanczosResult {
  /** Diagonal of T. */
  alpha: Float64Array;
  /** Off-diagonal of T (one shorter than alpha). */
  beta: Float64Array;
  /** Steps made: fewer than asked when the Krylov space is exhausted (an invariant subspace). */
  steps: number;
  basis?: Float64Array[];
}

export function randomStart(
  dimension: number,
  distribution: StartDistribution,
  seed: number,
): Float64Array {
  const rng = new Rng(seed);
  return distribution === 'gaussian'
    ? rng.normalArray(dimension)
    : Float64Array.from({ length: dimension }, () => (rng.nextUint32() & 1 ? 1 : -1));
}

export function lanczos(
  apply: (v: Float64Array) => Float64Array,
  dimension: number,
  options: LanczosOptions,
): LanczosResult {
  const steps = Math.max(1, Math.min(options.steps, dimension));
  const reorthogonalize = options.reorthogonalize ?? true;
  const start =
    options.start ??
    randomStart(dimension, options.startDistribution ?? 'gaussian', options.seed ?? 0);
  let q = scaled(start, 1 / norm(start));
  const basis: Float64Array[] = [q];
  const alpha: number[] = [];
  const beta: number[] = [];
  let previous: Float64Array | undefined;
  let scale = 0;
  for (let j = 0; j < steps; j++) {
    const w = apply(q);
    const a = dot(w, q);
    alpha.push(a);
    axpy(-a, q, w);
    if (previous) axpy(-beta[j - 1]!, previous, w);
    if (reorthogonalize) {
      for (let pass = 0; pass < 2; pass++) for (const u of basis) axpy(-dot(w, u), u, w);
    }
    const b = norm(w);
    scale = Math.max(scale, Math.abs(a), b);
    if (j === steps - 1) break;
    // An invariant subspace: the spectrum seen from this start vector is complete.
    if (b <= 1e-12 * Math.max(scale, Number.MIN_VALUE)) break;
    beta.push(b);
    previous = q;
    q = scaled(w, 1 / b);
    if (reorthogonalize || options.keepBasis) basis.push(q);
  }
  return {
    alpha: Float64Array.from(alpha),
    beta: Float64Array.from(beta),
    steps: alpha.length,
    ...(options.keepBasis ? { basis } : {}),
  };
}
