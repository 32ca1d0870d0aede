/** Moving gradients between a broadcast result's shape and an input's shape, in few kernels. */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

/**
 * Sums `g` (shaped like a broadcast result) back to `shape`. No kernel when the shapes are
 * equal; one (a sum keeping dimensions) when only size-1 axes were broadcast; a sum and a
 * reshape when leading axes were added.
 */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (tf.util.arraysEqual(g.shape, shape as number[])) return g;
  const axes = tf.backend_util.getReductionAxes(shape as number[], g.shape);
  if (shape.length === g.rank) return tf.sum(g, axes, true);
  const summed = axes.length > 0 ? tf.sum(g, axes) : g;
  return tf.util.arraysEqual(summed.shape, shape as number[])
    ? summed
    : tf.reshape(summed, shape as number[]);
}

/**
 * `g`, a reduction of a tensor of `shape` over `axes` (with or without kept dimensions), spread
 * back over `shape`: a reshape to kept dimensions when needed, then a broadcast (one Tile
 * kernel, whose gradient tdx registers as one keepDims sum; on wasm a product with ones).
 */
export function spreadOverAxes(g: Tensor, shape: readonly number[], axes: number[]): Tensor {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const keptG = tf.util.arraysEqual(kept, g.shape) ? g : tf.reshape(g, kept);
  if (tf.util.arraysEqual(kept, shape as number[])) return keptG;
  if (tf.getBackend() !== 'wasm') return tf.broadcastTo(keptG, shape as number[]);
  // The wasm backend's Tile kernel is twenty times slower than a product. A 2-D spread along
  // one axis is one product with a vector of ones (a host constant, no kernel): a column
  // [n, 1] times ones [1, m], or ones [n, 1] times a row [1, m].
  if (shape.length === 2) {
    const [n, m] = shape as [number, number];
    if (kept[1] === 1 && kept[0] === n) return tf.matMul(keptG, tf.ones([1, m]));
    if (kept[0] === 1 && kept[1] === m) return tf.matMul(tf.ones([n, 1]), keptG);
  }
  return tf.mul(keptG, tf.fill(shape as number[], 1));
}
