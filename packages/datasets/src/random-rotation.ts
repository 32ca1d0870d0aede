/** Random orthogonal matrices for the synthetic datasets. */
import type { Rng } from '@tdx/tensor';

/** A random orthogonal matrix (Gram–Schmidt on a Gaussian matrix), row-major. */
export function randomRotation(n: number, rng: Rng): Float64Array[] {
  const rows: Float64Array[] = [];
  while (rows.length < n) {
    const v = rng.normalArray(n);
    for (const u of rows) {
      let d = 0;
      for (let i = 0; i < n; i++) d += u[i]! * v[i]!;
      for (let i = 0; i < n; i++) v[i]! -= d * u[i]!;
    }
    const norm = Math.hypot(...v);
    if (norm > 1e-8) rows.push(v.map((x) => x / norm));
  }
  return rows;
}
