/**
 * A Gaussian control for a sample of vectors x_1..x_n: Gaussian vectors with exactly the
 * sample's mean x̄ and covariance Σ̂ = Σ_j (x_j − x̄)(x_j − x̄)ᵀ / (n − 1), so that whatever
 * differs between the sample and its control is the departure from Gaussianity (heavy tails).
 *
 * Each draw is z = Σ_j w_j x_j with w_j = 1/n + (ε_j − ε̄)/√(n − 1), ε ~ N(0, I_n):
 * Σ_j (ε_j − ε̄) x_j = Σ_j ε_j (x_j − x̄), so z = x̄ + Σ_j ε_j (x_j − x̄)/√(n − 1), which has
 * mean x̄ and covariance Σ_jk (δ_jk − 1/n) x_j x_kᵀ / (n − 1) = Σ̂. (`matchMean: false` drops
 * the 1/n: mean zero, the same covariance.) The control lives in the span of the sample (rank
 * ≤ n − 1), which is all a sample can tell about its covariance.
 *
 * Its norms need only the Gram matrix G_jk = ⟨x_j, x_k⟩: ‖z‖² = wᵀ G w. From the same
 * generator state, gaussianControl, gaussianControlNormsFromRows and gaussianControlNormsFromGram
 * draw the same weights, so the norms are those of the vectors.
 */
import { TdxError } from '@tdx/core';
import type { Rng } from '@tdx/tensor';

export interface GaussianControlOptions {
  /** Match the sample's mean too (default), or centre the control at zero. */
  matchMean?: boolean;
}

/** The weights w of one draw (n of them; n ≥ 2). */
export function gaussianControlWeights(
  n: number,
  rng: Rng,
  options: GaussianControlOptions = {},
): Float64Array {
  if (!Number.isInteger(n) || n < 2) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `a Gaussian control needs at least 2 sample vectors (a covariance), got ${n}`,
    );
  }
  const eps = rng.normalArray(n);
  let mean = 0;
  for (let j = 0; j < n; j++) mean += eps[j]!;
  mean /= n;
  const offset = options.matchMean === false ? 0 : 1 / n;
  const scale = 1 / Math.sqrt(n - 1);
  for (let j = 0; j < n; j++) eps[j] = offset + (eps[j]! - mean) * scale;
  return eps;
}

/** `draws` control vectors for the sample `vectors` (each of one dimension). */
export function gaussianControl(
  vectors: ReadonlyArray<ArrayLike<number>>,
  draws: number,
  rng: Rng,
  options: GaussianControlOptions = {},
): Float64Array[] {
  const n = vectors.length;
  const dim = vectors[0]?.length ?? 0;
  for (const [j, v] of vectors.entries()) {
    if (v.length !== dim) {
      throw new TdxError(
        'SHAPE_MISMATCH',
        `sample vector ${j} has ${v.length} entries, vector 0 has ${dim}`,
      );
    }
  }
  const out: Float64Array[] = [];
  for (let m = 0; m < draws; m++) {
    const w = gaussianControlWeights(n, rng, options);
    const z = new Float64Array(dim);
    for (let j = 0; j < n; j++) {
      const x = vectors[j]!;
      const wj = w[j]!;
      for (let i = 0; i < dim; i++) z[i]! += wj * x[i]!;
    }
    out.push(z);
  }
  return out;
}

/**
 * The norms of `draws` control vectors, from the sample's n×n Gram matrix (row-major):
 * ‖z‖ = √(wᵀ G w), in float64. O(draws · n²): the cheaper way when the dimension exceeds n.
 */
export function gaussianControlNormsFromGram(
  gram: ArrayLike<number>,
  n: number,
  draws: number,
  rng: Rng,
  options: GaussianControlOptions = {},
): Float64Array {
  if (gram.length !== n * n) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `a Gram matrix of ${n} vectors has ${n * n} entries, got ${gram.length}`,
    );
  }
  const norms = new Float64Array(draws);
  for (let m = 0; m < draws; m++) {
    const w = gaussianControlWeights(n, rng, options);
    let q = 0;
    for (let j = 0; j < n; j++) {
      let row = 0;
      const base = j * n;
      for (let k = 0; k < n; k++) row += gram[base + k]! * w[k]!;
      q += w[j]! * row;
    }
    // wᵀ G w ≥ 0 for a Gram matrix; rounding may leave a tiny negative.
    norms[m] = Math.sqrt(Math.max(0, q));
  }
  return norms;
}

/**
 * The norms of `draws` control vectors, from the n sample vectors of dimension `dim` stored row
 * by row: ‖Σ_j w_j x_j‖, in float64. O(draws · n · dim): the cheaper way when dim < n.
 */
export function gaussianControlNormsFromRows(
  rows: ArrayLike<number>,
  n: number,
  dim: number,
  draws: number,
  rng: Rng,
  options: GaussianControlOptions = {},
): Float64Array {
  if (rows.length !== n * dim) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `${n} vectors of dimension ${dim} need ${n * dim} values, got ${rows.length}`,
    );
  }
  const norms = new Float64Array(draws);
  const z = new Float64Array(dim);
  for (let m = 0; m < draws; m++) {
    const w = gaussianControlWeights(n, rng, options);
    z.fill(0);
    for (let j = 0; j < n; j++) {
      const wj = w[j]!;
      const base = j * dim;
      for (let i = 0; i < dim; i++) z[i]! += wj * rows[base + i]!;
    }
    let q = 0;
    for (let i = 0; i < dim; i++) q += z[i]! * z[i]!;
    norms[m] = Math.sqrt(q);
  }
  return norms;
}
