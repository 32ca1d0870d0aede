/**
 * Power iteration for the dominant eigenvalue of a symmetric operator, on the host in float64.
 * It converges to the eigenvalue of largest magnitude, which may be negative; the result is the
 * Rayleigh quotient vᵀAv of the final unit vector (as PyHessian reports it).
 */
import { Rng } from '@tdx/tensor';

export interface PowerIterationOptions {
  maxIterations?: number;
  /** Stop when |λ_k - λ_{k-1}| <= tolerance * |λ_k|. */
  tolerance?: number;
  /** Seed of the random start vector. */
  seed?: number;
}

export interface PowerIterationResult {
  eigenvalue: number;
  eigenvector: Float64Array;
  iterations: number;
  converged: boolean;
  /** ||A v - λ v|| / |λ| at the end: how much of an eigenpair it is. */
  residual: number;
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function powerIteration(
  apply: (v: Float64Array) => Float64Array,
  dimension: number,
  options: PowerIterationOptions = {},
): PowerIterationResult {
  const { maxIterations = 100, tolerance = 1e-4, seed = 0 } = options;
  let v = new Rng(seed).normalArray(dimension);
  const scale = (x: Float64Array, s: number) => x.map((xi) => xi * s);
  v = scale(v, 1 / norm(v));
  let Av = apply(v);
  let eigenvalue = dot(v, Av);
  let iterations = 1;
  let converged = false;
  while (iterations < maxIterations) {
    const n = norm(Av);
    if (n === 0) {
      converged = true; // v is in the null space: the operator is zero along every direction tried
      break;
    }
    v = scale(Av, 1 / n);
    Av = apply(v);
    iterations++;
    const next = dot(v, Av);
    const change = Math.abs(next - eigenvalue);
    eigenvalue = next;
    if (change <= tolerance * Math.abs(eigenvalue)) {
      converged = true;
      break;
    }
  }
  const residual =
    norm(Av.map((x, i) => x - eigenvalue * v[i]!)) /
    Math.max(Math.abs(eigenvalue), Number.MIN_VALUE);
  return { eigenvalue, eigenvector: v, iterations, converged, residual };
}
