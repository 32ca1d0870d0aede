/**
 * The Gram matrix G_jk = ⟨x_j, x_k⟩ of n vectors stored row by row in one host array, computed
 * on the tensor backend in blocks of rows (float32 products, as matMul computes them), so that
 * neither the vectors nor the work need fit in one tensor: 2·n²·dim flops, and at most
 * 2 · blockFloats floats on the device at a time. Returned row-major in a Float64Array.
 */
import { TdxError } from '@tdx/core';
import { tf } from '@tdx/tensor';

/** Floats per block of rows uploaded at once (16 MiB of float32). */
export const GRAM_BLOCK_FLOATS = 1 << 22;

export function gramMatrix(
  rows: Float32Array,
  n: number,
  dim: number,
  blockFloats = GRAM_BLOCK_FLOATS,
): Float64Array {
  if (rows.length !== n * dim) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `${n} vectors of dimension ${dim} need ${n * dim} values, got ${rows.length}`,
    );
  }
  const gram = new Float64Array(n * n);
  const block = Math.max(1, Math.min(n, Math.floor(blockFloats / Math.max(1, dim))));
  const upload = (start: number, count: number) =>
    tf.tensor2d(rows.subarray(start * dim, (start + count) * dim), [count, dim], 'float32');
  for (let a = 0; a < n; a += block) {
    const ra = Math.min(block, n - a);
    for (let b = a; b < n; b += block) {
      const rb = Math.min(block, n - b);
      const product = tf.tidy(() => tf.matMul(upload(a, ra), upload(b, rb), false, true));
      const values = product.dataSync();
      product.dispose();
      for (let i = 0; i < ra; i++) {
        for (let j = 0; j < rb; j++) {
          const v = values[i * rb + j]!;
          gram[(a + i) * n + (b + j)] = v;
          gram[(b + j) * n + (a + i)] = v;
        }
      }
    }
  }
  return gram;
}
