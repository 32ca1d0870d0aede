/** Random orthogonal matrices for the synthetic datasets. */
import { axpy, dot, type Rng } from '@tdx/tensor';

/** A random orthogonal matrix (Gram–Schmidt on a Gaussian matrix), row-major. */
export function randomRotation(n: number, rng: Rng): Float64Array[] {
  const rows: Float64Array[] = [];
  while (rows.length < n) {
    const v = rng.normalArray(n);
    for (const u of rows) axpy(-dot(u, v), u, v);
    // Math.hypot, not linalg's norm: its rounding differs and the datasets' numbers rest on it.
    const norm = Math.hypot(...v);
    if (norm > 1e-8) rows.push(v.map((x) => x / norm));
  }
  return rows;
}
