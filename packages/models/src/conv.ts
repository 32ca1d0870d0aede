/**
 * Convolutional building blocks for `resnet` and `vgg`, written only with kernels whose second
 * derivatives tdx audits (Pad, Slice, Reshape, Concat, Pack, MatMul, Max, Mean, Rsqrt, ...):
 *
 * - conv2d: im2col. Pad, take the k×k shifted windows with slices, keep every s-th row and
 *   column of each window (a reshape and a slice: no StridedSlice), concatenate along channels
 *   and multiply by the kernel reshaped to [k·k·C_in, C_out]. Output size as PyTorch's
 *   Conv2d: ⌊(H + 2p − k)/s⌋ + 1.
 * - maxPool2d: the same windows, stacked, and a Max over them (PyTorch's MaxPool2d, padding
 *   with −1e30 so that padding never wins).
 * - batchNorm: train-mode batch statistics, always (no running averages anywhere): the loss
 *   is then one function of the parameters and the batch, the same in training, evaluation
 *   and every Hessian-vector product. groupNorm: per example and group of channels (no
 *   coupling between examples).
 *
 * TF.js's own conv2d and pooling are avoided on purpose: their gradient kernels have no
 * gradients (no Hessian-vector products), MaxPool's double backward throws, and the wasm
 * backend lacks Conv2DBackpropFilter. `cnn`'s stride-1 `convolve` is this conv2d with s = 1.
 */
import { TdxError } from '@tdx/core';
import { tf, type Tensor } from '@tdx/tensor';

/** Output length of a convolution or pooling along one axis (PyTorch's formula). */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number) {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** Keeps rows and columns 0, s, 2s, ... of x [B, outH·s, outW·s, C]: [B, outH, outW, C]. */
function subsample(x: Tensor, stride: number): Tensor {
  if (stride === 1) return x;
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const [outH, outW] = [H / stride, W / stride];
  // (b, i·s + a, j·s + c, ch) lies at [b·outH + i, a, j, c·C + ch] of this view.
  const view = tf.reshape(x, [B * outH, stride, outW, stride * C]);
  return tf.reshape(tf.slice(view, [0, 0, 0, 0], [B * outH, 1, outW, C]), [B, outH, outW, C]);
}

/**
 * The k×k windows of x [B, H, W, C] at stride s after padding by p (with `value`), each
 * [B, outH, outW, C], in row-major window order (di, dj).
 */
function windows(
  x: Tensor,
  kernel: number,
  stride: number,
  padding: number,
  value = 0,
): { windows: Tensor[]; outH: number; outW: number } {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const outH = convOutputSize(H, kernel, stride, padding);
  const outW = convOutputSize(W, kernel, stride, padding);
  if (outH < 1 || outW < 1) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `a ${kernel}×${kernel} window at stride ${stride} does not fit a ${H}×${W} feature map`,
      { hint: 'use larger images, fewer downsampling stages or a smaller stem stride' },
    );
  }
  // Every window reads outH·s rows from its offset; rows past PyTorch's padding are only read
  // at positions the subsampling drops ((outH − 1)·s + k − 1 ≤ H + 2p − 1).
  const bottom = kernel - 1 + outH * stride - H - padding;
  const right = kernel - 1 + outW * stride - W - padding;
  const padded =
    padding === 0 && bottom === 0 && right === 0
      ? x
      : tf.pad(
          x,
          [
            [0, 0],
            [padding, bottom],
            [padding, right],
            [0, 0],
          ],
          value,
        );
  const out: Tensor[] = [];
  for (let di = 0; di < kernel; di++)
    for (let dj = 0; dj < kernel; dj++)
      out.push(
        subsample(tf.slice(padded, [0, di, dj, 0], [B, outH * stride, outW * stride, C]), stride),
      );
  return { windows: out, outH, outW };
}

/**
 * From this many output positions (B·outH·outW) on, conv2d sums k² products instead of one
 * product with concatenated windows: measured on wasm (two cores, gradient of two 3×3
 * convolutions, batch 32), 14×14×16: 68 against 106 ms; 28×28×8: 86 against 194 ms; but
 * 7×7×32: 47 against 27 ms. Both are exact; only the speed differs.
 */
export const SUM_OF_PRODUCTS_ROWS = 4096;

/**
 * Convolution of x [B, H, W, C_in] with weight [k·k·C_in, C_out] (rows in window order (di, dj),
 * then input channel), stride s and zero padding p (default (k − 1)/2, 'same' at stride 1).
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  kernel: number,
  stride = 1,
  padding = Math.floor((kernel - 1) / 2),
): Tensor {
  const [B, , , C] = x.shape as [number, number, number, number];
  if (weight.shape[0] !== kernel * kernel * C) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `conv2d: a ${kernel}×${kernel} kernel over ${C} channels needs ${kernel * kernel * C} rows, the weight has ${weight.shape[0]}`,
    );
  }
  const { windows: parts, outH, outW } = windows(x, kernel, stride, padding);
  const O = weight.shape[1]!;
  const rows = B * outH * outW;
  if (parts.length === 1 || rows < SUM_OF_PRODUCTS_ROWS) {
    const columns = parts.length === 1 ? parts[0]! : tf.concat(parts, 3);
    return tf.reshape(tf.matMul(tf.reshape(columns, [rows, kernel * kernel * C]), weight), [
      B,
      outH,
      outW,
      O,
    ]);
  }
  // Σ over the k² windows of window [N, C] times its C rows of the weight: the same sums as
  // one product with the windows side by side, without the channel-axis Concat and its
  // gradient's SplitV, which copy element by element on wasm.
  let out: Tensor | undefined;
  parts.forEach((part, i) => {
    const term = tf.matMul(tf.reshape(part, [rows, C]), tf.slice(weight, [i * C, 0], [C, O]));
    out = out ? tf.add(out, term) : term;
  });
  return tf.reshape(out!, [B, outH, outW, O]);
}

/** Max over k×k windows at stride s, padding p (PyTorch's MaxPool2d; padding never wins). */
export function maxPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  const { windows: parts } = windows(x, kernel, stride, padding, -1e30);
  return tf.max(tf.stack(parts, 0), 0);
}

/**
 * Max over non-overlapping p×p squares, trailing rows and columns that do not fill a square
 * dropped (PyTorch's MaxPool2d(p) floors the same way): a reshape and one Max.
 */
export function maxPoolSquares(x: Tensor, p: number): Tensor {
  if (p === 1) return x;
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const [h, w] = [Math.floor(H / p), Math.floor(W / p)];
  if (h < 1 || w < 1) {
    throw new TdxError('INVALID_ARGUMENT', `cannot max-pool a ${H}×${W} feature map by ${p}`, {
      hint: 'use fewer pooling stages or larger images',
    });
  }
  const cropped = h * p === H && w * p === W ? x : tf.slice(x, [0, 0, 0, 0], [B, h * p, w * p, C]);
  return tf.max(tf.reshape(cropped, [B, h, p, w, p, C]), [2, 4]);
}

/** Mean over the spatial axes: [B, H, W, C] -> [B, C]. */
export function globalAveragePool(x: Tensor): Tensor {
  return tf.mean(x, [1, 2]);
}

/**
 * Batch normalisation of x [B, H, W, C] with the batch's own statistics per channel (mean and
 * biased variance over B, H, W, as PyTorch's BatchNorm2d in training mode), then γ x̂ + β.
 */
export function batchNorm(x: Tensor, gain: Tensor, bias: Tensor, epsilon = 1e-5): Tensor {
  const centred = tf.sub(x, tf.mean(x, [0, 1, 2], true));
  const variance = tf.mean(tf.square(centred), [0, 1, 2], true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, epsilon))), gain), bias);
}

/**
 * Group normalisation of x [B, H, W, C]: statistics per example over H, W and each group of
 * C/G consecutive channels (PyTorch's GroupNorm), then γ x̂ + β per channel.
 */
export function groupNorm(
  x: Tensor,
  gain: Tensor,
  bias: Tensor,
  groups: number,
  epsilon = 1e-5,
): Tensor {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  if (C % groups !== 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `group norm: ${C} channels cannot be split into ${groups} groups`,
      { hint: 'choose groups dividing every stage width (a power of two, say)' },
    );
  }
  const grouped = tf.reshape(x, [B, H, W, groups, C / groups]);
  const centred = tf.sub(grouped, tf.mean(grouped, [1, 2, 4], true));
  const variance = tf.mean(tf.square(centred), [1, 2, 4], true);
  const normalised = tf.reshape(tf.mul(centred, tf.rsqrt(tf.add(variance, epsilon))), [B, H, W, C]);
  return tf.add(tf.mul(normalised, gain), bias);
}
