/**
 * The layer as least squares in W_V: the stacked kernel-weighted inputs B_h = [S_1h X_1; …;
 * S_Nh X_N] per head, the residual R = F − Y they give with the weights, and its loss
 * (1/(2N))‖R‖², checked against the model's own loss. Float64, on the host.
 */
import { TdxError } from '@tdx/core';
import { norm } from '@tdx/tensor';
import type { HostLayer } from './layer.js';

type Sizes = Pick<HostLayer, 'N' | 'n' | 'd' | 'H'>;

/** B_h = [S_1h X_1; …; S_Nh X_N] per head h, (N·n) × d, row r = i·n + t. */
export function stackedInputs(layer: Sizes & Pick<HostLayer, 'S' | 'X'>): Float64Array[] {
  const { N, n, d, H, S, X } = layer;
  return Array.from({ length: H }, (_, h) => {
    const b = new Float64Array(N * n * d);
    for (let i = 0; i < N; i++)
      for (let t = 0; t < n; t++)
        for (let j = 0; j < n; j++) {
          const s = S[((i * H + h) * n + t) * n + j]!;
          for (let c = 0; c < d; c++) b[(i * n + t) * d + c]! += s * X[(i * n + j) * d + c]!;
        }
    return b;
  });
}

/**
 * The residual R = F − Y ((N·n) × out) of the layer's output F = concat_h(B_h W_V^h) [W_O],
 * W_V^h the columns [h·v, (h+1)·v) of W_V.
 */
export function residual(
  layer: Pick<HostLayer, 'rows' | 'd' | 'H' | 'v' | 'width' | 'out' | 'WV' | 'WO' | 'Y'>,
  B: readonly Float64Array[],
): Float64Array {
  const { rows, d, H, v, width, out, WV, WO, Y } = layer;
  const R = new Float64Array(rows * out);
  const joined = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < H; h++)
      for (let c = 0; c < v; c++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += B[h]![r * d + k]! * WV[k * width + h * v + c]!;
        joined[h * v + c] = s;
      }
    for (let c = 0; c < out; c++) {
      let f = joined[c]!;
      if (WO) {
        f = 0;
        for (let k = 0; k < width; k++) f += joined[k]! * WO[k * out + c]!;
      }
      R[r * out + c] = f - Y[r * out + c]!;
    }
  }
  return R;
}

/**
 * (1/(2N))‖R‖², or PLUGIN_CONTRACT when the model's loss is not that (relative 1e-3, with a
 * floor of 1e-3 of the targets' own scale): the rates derived here are for that loss.
 */
export function checkedLoss(layer: Pick<HostLayer, 'N' | 'Y' | 'modelLoss'>, R: Float64Array) {
  const { N, Y, modelLoss } = layer;
  const loss = norm(R) ** 2 / (2 * N);
  const scale = norm(Y) ** 2 / (2 * N);
  if (Math.abs(loss - modelLoss) > 1e-3 * Math.max(modelLoss, 1e-3 * scale))
    throw new TdxError(
      'PLUGIN_CONTRACT',
      `the model's loss ${modelLoss} is not (1/2N) Σ‖F − Y‖² = ${loss} of the output its kernelMatrices and valuePath describe`,
      { hint: 'init-conditions derives its rates for that loss; check the model' },
    );
  return loss;
}
