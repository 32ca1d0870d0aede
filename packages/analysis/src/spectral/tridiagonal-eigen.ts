/**
 * Eigenvalues of a symmetric tridiagonal matrix and the first component of each eigenvector,
 * by the implicit QL algorithm with Wilkinson shifts (the tql2 of EISPACK/JAMA), accumulating
 * only the first row of the eigenvector matrix: O(n²) instead of O(n³). The squared first
 * components are the Gauss quadrature weights of the Lanczos measure (Golub & Welsch, 1969).
 */
import { TdxError } from '@tdx/core';

export interface TridiagonalEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** First component of the unit eigenvector of each eigenvalue (same order). */
  firstComponents: Float64Array;
}

/** `diagonal` (n) and `offDiagonal` (n - 1) of a symmetric tridiagonal matrix. */
export function tridiagonalEigen(
  diagonal: ArrayLike<number>,
  offDiagonal: ArrayLike<number>,
): TridiagonalEigen {
  const n = diagonal.length;
  if (offDiagonal.length !== Math.max(0, n - 1)) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `a tridiagonal matrix of size ${n} has ${Math.max(0, n - 1)} off-diagonal entries, got ${offDiagonal.length}`,
    );
  }
  for (const x of [...Array.from(diagonal), ...Array.from(offDiagonal)]) {
    // QL never terminates on NaN: refuse it up front.
    if (!Number.isFinite(x))
      throw new TdxError(
        'NOT_FINITE',
        'the tridiagonal matrix has a non-finite entry (the Hessian-vector products produced NaN or Infinity)',
      );
  }
  const d = Float64Array.from(diagonal);
  const e = new Float64Array(n);
  for (let i = 0; i + 1 < n; i++) e[i] = offDiagonal[i]!;
  const z = new Float64Array(n); // first row of the eigenvector matrix
  if (n > 0) z[0] = 1;

  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n && Math.abs(e[m]!) > eps * tst1) m++;
    if (m === n) m = n - 1;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 60)
          throw new TdxError(
            'NOT_FINITE',
            'the tridiagonal eigensolver did not converge in 60 iterations',
          );
        // Wilkinson shift from the leading 2x2 block.
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        // Implicit QL sweep from m up to l, with Givens rotations.
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          // The same rotation on the first row of the eigenvector matrix.
          h = z[i + 1]!;
          z[i + 1] = s * z[i]! + c * h;
          z[i] = c * z[i]! - s * h;
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a]! - d[b]!);
  return {
    values: Float64Array.from(order, (i) => d[i]!),
    firstComponents: Float64Array.from(order, (i) => z[i]!),
  };
}
