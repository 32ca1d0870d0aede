/**
 * 2-Wasserstein distances between empirical distributions with uniform weights: exact in one
 * dimension (from the quantile functions), sliced in several (Bonneel et al. 2015; Rabin et al.
 * 2011): the mean over random unit directions of the 1-D W2² of the projections. The mean-field
 * analysis compares the distributions of particles (heads, neurons) between model sizes and over
 * training time with them.
 */
import { TdxError } from '@tdx/core';
import { Rng } from '@tdx/tensor';

/** Points in R^d, row-major: `values.length / dimension` points (a ParticleGroup is one). */
export interface PointCloud {
  values: ArrayLike<number>;
  dimension: number;
}

function checkSamples(name: string, samples: ArrayLike<number>): void {
  if (samples.length === 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `the Wasserstein distance needs samples, ${name} has none`,
    );
  }
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i]!)) {
      throw new TdxError(
        'NOT_FINITE',
        `${name}[${i}] is ${samples[i]}: the distance is undefined`,
        {
          hint: 'drop diverged runs or non-finite particles before comparing distributions',
        },
      );
    }
  }
}

/**
 * W2² between the uniform distributions on two ascending-sorted samples of any sizes n and m:
 * ∫₀¹ (F⁻¹(u) − G⁻¹(u))² du, where the quantile functions are steps at i/n and j/m, so the
 * integral is exact over the merged breakpoints (n + m − 1 pieces at most).
 */
export function sortedWasserstein1dSquared(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const [n, m] = [x.length, y.length];
  let [i, j] = [0, 0];
  let at = 0;
  let sum = 0;
  while (i < n && j < m) {
    // Compare i+1/n with j+1/m in integers, so equal breakpoints are met exactly.
    const cmp = (i + 1) * m - (j + 1) * n;
    const next = cmp <= 0 ? (i + 1) / n : (j + 1) / m;
    const d = x[i]! - y[j]!;
    sum += d * d * (next - at);
    at = next;
    if (cmp <= 0) i++;
    if (cmp >= 0) j++;
  }
  return sum;
}

/** W2² between the uniform distributions on two samples (any order, any sizes). */
export function wasserstein1dSquared(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkSamples('x', x);
  checkSamples('y', y);
  return sortedWasserstein1dSquared(Float64Array.from(x).sort(), Float64Array.from(y).sort());
}

/** The exact 1-D 2-Wasserstein distance between two samples' empirical distributions. */
export function wasserstein1d(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return Math.sqrt(wasserstein1dSquared(x, y));
}

/** `count` unit vectors in R^dimension, uniform on the sphere (normalised Gaussians), row-major. */
export function randomDirections(dimension: number, count: number, seed: number): Float64Array {
  if (!Number.isInteger(dimension) || dimension < 1 || !Number.isInteger(count) || count < 1) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `random directions need a positive integer dimension and count, got ${dimension} and ${count}`,
    );
  }
  const rng = new Rng(seed);
  const out = new Float64Array(dimension * count);
  for (let k = 0; k < count; k++) {
    let sq = 0;
    // A zero draw has no direction (probability 0 in exact arithmetic): draw again.
    while (!(sq > 0)) {
      sq = 0;
      for (let i = 0; i < dimension; i++) {
        const z = rng.normal();
        out[k * dimension + i] = z;
        sq += z * z;
      }
    }
    const inv = 1 / Math.sqrt(sq);
    for (let i = 0; i < dimension; i++) out[k * dimension + i]! *= inv;
  }
  return out;
}

function pointCount(name: string, cloud: PointCloud): number {
  const { values, dimension } = cloud;
  if (!Number.isInteger(dimension) || dimension < 1 || values.length % dimension !== 0) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `${name} has ${values.length} values, not a whole number of points of dimension ${dimension}`,
    );
  }
  const n = values.length / dimension;
  if (n === 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `the Wasserstein distance needs points, ${name} has none`,
    );
  }
  checkSamples(name, values);
  return n;
}

/**
 * The sorted projections of a cloud on each direction (row-major unit vectors of the cloud's
 * dimension): one ascending Float64Array per direction. Comparing one cloud with many others on
 * the same directions needs its projections once.
 */
export function sortedProjections(cloud: PointCloud, directions: Float64Array): Float64Array[] {
  const d = cloud.dimension;
  const n = pointCount('the point cloud', cloud);
  if (directions.length % d !== 0) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `${directions.length} direction values are not whole directions of dimension ${d}`,
    );
  }
  const K = directions.length / d;
  const out: Float64Array[] = [];
  for (let k = 0; k < K; k++) {
    const p = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += cloud.values[j * d + i]! * directions[k * d + i]!;
      p[j] = s;
    }
    out.push(p.sort());
  }
  return out;
}

export interface SlicedWasserstein {
  /** SW2 = sqrt of the mean over directions of W2² of the projections. */
  distance: number;
  /** SW2²: the mean over directions. */
  squared: number;
  /** Monte-Carlo standard error of SW2² (sample standard deviation over directions / √K). */
  squaredStandardError: number;
  /** Of SW2, by the delta method: se(SW2²) / (2 SW2); Infinity when SW2 = 0 but se > 0. */
  standardError: number;
  /** K, the number of directions. */
  directions: number;
}

/** SW2 from the sorted projections of two clouds on the same K directions. */
export function slicedWassersteinFromProjections(
  a: readonly Float64Array[],
  b: readonly Float64Array[],
): SlicedWasserstein {
  if (a.length !== b.length || a.length === 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `sliced Wasserstein needs the same directions for both clouds, got ${a.length} and ${b.length}`,
    );
  }
  const K = a.length;
  const w = a.map((pa, k) => sortedWasserstein1dSquared(pa, b[k]!));
  const squared = w.reduce((s, x) => s + x, 0) / K;
  const variance = K > 1 ? w.reduce((s, x) => s + (x - squared) ** 2, 0) / (K - 1) : NaN;
  const squaredStandardError = Math.sqrt(variance / K);
  const distance = Math.sqrt(squared);
  const standardError =
    distance > 0
      ? squaredStandardError / (2 * distance)
      : squaredStandardError > 0
        ? Infinity
        : squaredStandardError;
  return { distance, squared, squaredStandardError, standardError, directions: K };
}

export interface SlicedWassersteinOptions {
  /**
   * The number of random directions K (default 128), uniform on the sphere, drawn from `seed`;
   * or the directions themselves, row-major (each normalised to unit length here).
   */
  directions?: number | Float64Array;
  /** Seed of the random directions (default 0): the same seed gives the same directions. */
  seed?: number;
}

/** The directions an options object names, for clouds of dimension d. */
export function slicingDirections(d: number, options: SlicedWassersteinOptions = {}): Float64Array {
  const given = options.directions ?? 128;
  if (typeof given === 'number') return randomDirections(d, given, options.seed ?? 0);
  if (given.length === 0 || given.length % d !== 0) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `${given.length} direction values are not whole directions of dimension ${d}`,
    );
  }
  const out = Float64Array.from(given);
  for (let k = 0; k < out.length / d; k++) {
    let sq = 0;
    for (let i = 0; i < d; i++) sq += out[k * d + i]! ** 2;
    if (!(sq > 0) || !Number.isFinite(sq)) {
      throw new TdxError('INVALID_ARGUMENT', `direction ${k} has norm ${Math.sqrt(sq)}`);
    }
    for (let i = 0; i < d; i++) out[k * d + i]! /= Math.sqrt(sq);
  }
  return out;
}

/**
 * The sliced 2-Wasserstein distance between the uniform distributions on two point clouds in
 * R^d (any sizes): SW2² = E_u W2²(u·X, u·Y) over u uniform on the sphere, estimated by the mean
 * over K directions, with its Monte-Carlo standard error. For N(μ1, σ1²I) and N(μ2, σ2²I),
 * SW2² = ‖μ1 − μ2‖²/d + (σ1 − σ2)².
 */
export function slicedWasserstein(
  a: PointCloud,
  b: PointCloud,
  options: SlicedWassersteinOptions = {},
): SlicedWasserstein {
  if (a.dimension !== b.dimension) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `sliced Wasserstein between clouds of dimensions ${a.dimension} and ${b.dimension}`,
      { hint: 'both point clouds must live in the same space' },
    );
  }
  const directions = slicingDirections(a.dimension, options);
  return slicedWassersteinFromProjections(
    sortedProjections(a, directions),
    sortedProjections(b, directions),
  );
}
