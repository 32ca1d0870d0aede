/**
 * Host linear algebra in float64: the vector arithmetic of Lanczos, SLQ, Hutchinson, loss
 * landscapes and derivative checks, and power iteration. Tensors are float32 (TF.js); the small
 * dense work around Hessian-vector products (inner products, reorthogonalisation, Rayleigh
 * quotients) runs here on Float64Array so that it adds no float32 rounding of its own.
 *
 * Every function takes any array of numbers (Float64Array first; Float32Array and number[]
 * work too) and sums left to right, so results do not depend on which caller asks.
 */
import { Rng } from '../rng.js';

/** Σ a_i b_i over the length of `a`. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** The Euclidean norm ‖a‖ = √(Σ a_i²) (not Math.hypot: no rescaling, the same rounding as dot). */
export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** y ← y + αx, in place. */
export function axpy(alpha: number, x: ArrayLike<number>, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i]! += alpha * x[i]!;
}

/** αx, a new array. */
export function scaled(x: ArrayLike<number>, alpha: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = alpha * x[i]!;
  return out;
}

/** x/‖x‖, a new array (each entry divided, not multiplied by 1/‖x‖); null when x = 0. */
export function normalized(x: ArrayLike<number>): Float64Array | null {
  const n = norm(x);
  if (n === 0) return null;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / n;
  return out;
}

/** ‖a − b‖ / max(‖b‖, floor): the relative error of a against the reference b. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  const diff = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) diff[i] = a[i]! - b[i]!;
  return norm(diff) / Math.max(norm(b), floor);
}

export interface PowerIterationOptions {
  /** Products with the operator at most (the first included); default 100. */
  maxIterations?: number;
  /** Stop when |λ_k − λ_{k−1}| ≤ tolerance · |λ_k|; default 1e-4. */
  tolerance?: number;
  /** Seed of the Gaussian start vector (default 0); ignored when `start` is given. */
  seed?: number;
  /** The start vector (normalised here); default a Gaussian draw from `seed`. */
  start?: ArrayLike<number>;
}

export interface PowerIterationResult {
  /** The Rayleigh quotient vᵀAv of the final unit vector v (signed). */
  eigenvalue: number;
  eigenvector: Float64Array;
  /** Products with the operator made. */
  iterations: number;
  /** The tolerance was met, or A v = 0 (then the eigenvalue is 0). */
  converged: boolean;
  /** ‖Av − λv‖ / |λ| at the end: how much of an eigenpair it is. */
  residual: number;
}

/**
 * x · (1/‖x‖), or null when x = 0. Power iteration has always scaled by the reciprocal (unlike
 * `normalized`, which divides); kept so that its eigenvalues stay the same to the last bit.
 */
function unitByReciprocal(x: ArrayLike<number>): Float64Array | null {
  const n = norm(x);
  return n === 0 ? null : scaled(x, 1 / n);
}

/**
 * Power iteration for the dominant eigenvalue of a symmetric operator: v ← Av/‖Av‖ until the
 * Rayleigh quotient settles. It converges to the eigenvalue of largest magnitude, which may be
 * negative (as PyHessian's `eigenvalues()` reports it); slowly when the two largest magnitudes
 * are close (Lanczos, in @tdx/analysis, is the better tool for several eigenvalues).
 */
export function powerIteration(
  apply: (v: Float64Array) => Float64Array,
  dimension: number,
  options: PowerIterationOptions = {},
): PowerIterationResult {
  const { maxIterations = 100, tolerance = 1e-4, seed = 0 } = options;
  let v = unitByReciprocal(options.start ?? new Rng(seed).normalArray(dimension));
  if (v === null) throw new RangeError('power iteration needs a nonzero start vector');
  let Av = apply(v);
  let eigenvalue = dot(v, Av);
  let iterations = 1;
  let converged = false;
  while (iterations < maxIterations) {
    const next = unitByReciprocal(Av);
    if (next === null) {
      converged = true; // Av = 0: v is in the null space, the eigenvalue found is 0
      break;
    }
    v = next;
    Av = apply(v);
    iterations++;
    const rayleigh = dot(v, Av);
    const change = Math.abs(rayleigh - eigenvalue);
    eigenvalue = rayleigh;
    if (change <= tolerance * Math.abs(eigenvalue)) {
      converged = true;
      break;
    }
  }
  const residualVector = Float64Array.from(Av);
  axpy(-eigenvalue, v, residualVector);
  const residual = norm(residualVector) / Math.max(Math.abs(eigenvalue), Number.MIN_VALUE);
  return { eigenvalue, eigenvector: v, iterations, converged, residual };
}
