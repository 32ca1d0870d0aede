/**
 * The least-squares pieces of init-conditions against ml-matrix products: B_h = [S_1h X_1; …;
 * S_Nh X_N] for each head, and the residual concat_h(B_h W_V^h) [W_O] − Y with and without W_O.
 */
import { Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Rng } from '@tdx/tensor';
import { residual, stackedInputs } from '../src/init-conditions/least-squares.js';

const [N, n, d, H, v, out] = [3, 4, 5, 2, 2, 3];
const rng = new Rng(11);
const X = rng.normalArray(N * n * d);
const S = rng.normalArray(N * H * n * n);
const WV = rng.normalArray(d * H * v);
const WO = rng.normalArray(H * v * out);
const Y = rng.normalArray(N * n * out);
/** Targets of the layer without W_O, whose output has H·v columns. */
const Yv = rng.normalArray(N * n * H * v);

/** Rows × cols of a row-major array starting at `at`. */
const block = (a: Float64Array, at: number, rows: number, cols: number) =>
  new Matrix(
    Array.from({ length: rows }, (_, r) =>
      Array.from(a.subarray(at + r * cols, at + (r + 1) * cols)),
    ),
  );

/** B_h with ml-matrix: S_ih X_i for each sequence, stacked. */
const reference = (h: number) => {
  const parts = Array.from({ length: N }, (_, i) =>
    block(S, (i * H + h) * n * n, n, n).mmul(block(X, i * n * d, n, d)),
  );
  return new Matrix(parts.flatMap((p) => p.to2DArray()));
};

const maxAbs = (a: Matrix, b: Matrix) => Matrix.sub(a, b).abs().max();

describe('init-conditions least squares', () => {
  const B = stackedInputs({ N, n, d, H, S, X });

  it('stacks S_ih X_i per head', () => {
    for (let h = 0; h < H; h++)
      expect(maxAbs(block(B[h]!, 0, N * n, d), reference(h))).toBeLessThan(1e-12);
  });

  it('gives the residual concat_h(B_h W_V^h) − Y, and with W_O, (…) W_O − Y', () => {
    const V = block(WV, 0, d, H * v);
    const heads = Array.from({ length: H }, (_, h) =>
      reference(h).mmul(V.subMatrix(0, d - 1, h * v, (h + 1) * v - 1)),
    );
    const joined = new Matrix(
      Array.from({ length: N * n }, (_, r) => heads.flatMap((m) => m.getRow(r))),
    );
    const sizes = { rows: N * n, d, H, v, width: H * v, Y };
    const target = block(Y, 0, N * n, out);
    const withOutput = residual({ ...sizes, out, WV, WO }, B);
    expect(
      maxAbs(block(withOutput, 0, N * n, out), joined.mmul(block(WO, 0, H * v, out)).sub(target)),
    ).toBeLessThan(1e-12);
    // Without W_O the output is the joined heads itself (out = H·v).
    const plain = residual({ ...sizes, out: H * v, WV, WO: undefined, Y: Yv }, B);
    expect(
      maxAbs(block(plain, 0, N * n, H * v), Matrix.sub(joined, block(Yv, 0, N * n, H * v))),
    ).toBeLessThan(1e-12);
  });
});
