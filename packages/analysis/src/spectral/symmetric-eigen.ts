/**
 * Eigenvalues and eigenvectors of a small dense symmetric matrix by the cyclic Jacobi method
 * (Jacobi 1846; Golub & Van Loan §8.5): plane rotations that zero one off-diagonal entry at a
 * time, sweeping until the off-diagonal part is below ε‖A‖_F. Convergence is quadratic; each
 * sweep costs about 3n³ flops, so this is for the n ≲ 300 matrices of init-condition diagnostics
 * (Gram matrices of stacked tokens), not for Hessians (Lanczos does those).
 *
 * Float64 on the host. Eigenvalues carry an absolute error of about ε‖A‖_F.
 */
import { TdxError } from '@tdx/core';

export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** Unit eigenvectors as columns, row-major n × n: vectors[i·n + j] is entry i of vector j. */
  vectors: Float64Array;
}

const MAX_SWEEPS = 100;

/** `matrix` (n × n, row-major; only its symmetric part is meaningful) -> eigenpairs, ascending. */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): SymmetricEigen {
  if (matrix.length !== n * n)
    throw new TdxError(
      'SHAPE_MISMATCH',
      `a ${n} × ${n} matrix has ${n * n} entries, got ${matrix.length}`,
    );
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const x = (matrix[i * n + j]! + matrix[j * n + i]!) / 2;
      if (!Number.isFinite(x))
        throw new TdxError('NOT_FINITE', `the matrix has a non-finite entry at (${i}, ${j})`);
      a[i * n + j] = x;
    }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const frobenius2 = a.reduce((s, x) => s + x * x, 0);
  const tolerance2 = (2 ** -52) ** 2 * frobenius2;

  for (let sweep = 0; ; sweep++) {
    let off2 = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off2 += 2 * a[p * n + q]! ** 2;
    if (off2 <= tolerance2) break;
    if (sweep === MAX_SWEEPS)
      throw new TdxError(
        'NOT_FINITE',
        `the Jacobi eigensolver did not converge in ${MAX_SWEEPS} sweeps (off-diagonal ${Math.sqrt(off2)} vs ‖A‖_F ${Math.sqrt(frobenius2)})`,
      );
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        // The rotation J = [[c, s], [−s, c]] on (p, q) with (JᵀAJ)_pq = 0: t = tan of its angle,
        // the smaller root of t² + 2θt − 1 = 0 (the stabler one).
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Number.isFinite(theta)
          ? Math.sign(theta || 1) / (Math.abs(theta) + Math.hypot(theta, 1))
          : 0;
        const c = 1 / Math.hypot(t, 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const [kp, kq] = [a[k * n + p]!, a[k * n + q]!];
          a[k * n + p] = c * kp - s * kq;
          a[k * n + q] = s * kp + c * kq;
        }
        for (let k = 0; k < n; k++) {
          const [pk, qk] = [a[p * n + k]!, a[q * n + k]!];
          a[p * n + k] = c * pk - s * qk;
          a[q * n + k] = s * pk + c * qk;
        }
        for (let k = 0; k < n; k++) {
          const [kp, kq] = [v[k * n + p]!, v[k * n + q]!];
          v[k * n + p] = c * kp - s * kq;
          v[k * n + q] = s * kp + c * kq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => a[i * n + i]! - a[j * n + j]!,
  );
  const vectors = new Float64Array(n * n);
  order.forEach((from, to) => {
    for (let i = 0; i < n; i++) vectors[i * n + to] = v[i * n + from]!;
  });
  return { values: Float64Array.from(order, (i) => a[i * n + i]!), vectors };
}
