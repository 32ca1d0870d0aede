/**
 * Singular values of a small dense matrix, as the square roots of the eigenvalues of its Gram
 * matrix on the smaller side (A Aᵀ or AᵀA), by the Jacobi eigensolver, in float64.
 *
 * Squaring costs accuracy at the bottom: σ_i carries an absolute error of about ε σ_max² / σ_i,
 * i.e. σ_min is accurate to a relative ε κ² (κ = σ_max/σ_min): 1e-8 at κ = 1e4. That is far below
 * the float32 rounding of the matrices analysed here, whose entries come from TF.js.
 */
import { TdxError } from '@tdx/core';
import { symmetricEigen } from './symmetric-eigen.js';

export interface SingularPairs {
  /** The min(rows, cols) singular values, descending. */
  values: Float64Array;
  /**
   * The unit left singular vector u_k (rows entries) of values[k], for values[k] > 0. From the
   * Gram side that is not A Aᵀ, u_k = A v_k / σ_k: as accurate as σ_k is, so ask only for σ_k
   * above the rank tolerance.
   */
  left(k: number): Float64Array;
}

/** Singular values and left singular vectors of `a` (rows × cols, row-major). */
export function singularPairs(a: ArrayLike<number>, rows: number, cols: number): SingularPairs {
  if (a.length !== rows * cols)
    throw new TdxError(
      'SHAPE_MISMATCH',
      `a ${rows} × ${cols} matrix has ${rows * cols} entries, got ${a.length}`,
    );
  const wide = rows <= cols;
  const m = wide ? rows : cols;
  const gram = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = i; j < m; j++) {
      let s = 0;
      if (wide) for (let k = 0; k < cols; k++) s += a[i * cols + k]! * a[j * cols + k]!;
      else for (let k = 0; k < rows; k++) s += a[k * cols + i]! * a[k * cols + j]!;
      gram[i * m + j] = s;
      gram[j * m + i] = s;
    }
  const eigen = symmetricEigen(gram, m);
  // Rounding can leave a zero eigenvalue slightly negative.
  const values = eigen.values.map((x) => Math.sqrt(Math.max(0, x))).reverse();
  const column = (k: number) =>
    Float64Array.from({ length: m }, (_, i) => eigen.vectors[i * m + (m - 1 - k)]!);
  return {
    values,
    left: (k) => {
      if (!(values[k]! > 0))
        throw new TdxError(
          'INVALID_ARGUMENT',
          `singular value ${k} is 0: it has no unique left vector`,
        );
      if (wide) return column(k);
      const v = column(k);
      return Float64Array.from({ length: rows }, (_, r) => {
        let s = 0;
        for (let c = 0; c < cols; c++) s += a[r * cols + c]! * v[c]!;
        return s / values[k]!;
      });
    },
  };
}

/** The min(rows, cols) singular values of `a` (rows × cols, row-major), descending. */
export function singularValues(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  return singularPairs(a, rows, cols).values;
}

/**
 * The numerical rank: the number of singular values above tolerance · σ_max. NumPy's
 * matrix_rank uses tolerance max(rows, cols)·ε of the working precision.
 */
export function numericalRank(descending: ArrayLike<number>, tolerance: number): number {
  const top = descending[0] ?? 0;
  if (top === 0) return 0;
  let rank = 0;
  for (let i = 0; i < descending.length; i++) if (descending[i]! > tolerance * top) rank++;
  return rank;
}
