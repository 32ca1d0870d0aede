/** The temperature every built-in kernel shares, and its default. */
import { z } from '@tdx/core';
import { tf, type Tensor } from '@tdx/tensor';

/** `scale` divides the similarity (qᵀk, or ‖q−k‖²/2); default √p, p the head dimension. */
export const kernelScaleField = {
  scale: z.number().positive().optional(),
};

export function kernelScale(config: { scale?: number }, q: Tensor): number {
  return config.scale ?? Math.sqrt(q.shape[q.rank - 1]!);
}

/** qᵀk for every pair: [..., Tq, d] × [..., Tk, d] -> [..., Tq, Tk]. */
export function pairwiseDot(q: Tensor, k: Tensor): Tensor {
  return tf.matMul(q, k, false, true);
}

/** ‖x_i‖² of every row of x [..., T, d], as a column [..., T, 1]. */
export function squaredNorms(x: Tensor): Tensor {
  return tf.sum(tf.square(x), -1, true);
}

/** ‖x_j‖² of every row of x [..., T, d], as a row [..., 1, T] (to broadcast over queries). */
export function squaredNormsRow(x: Tensor): Tensor {
  return tf.expandDims(tf.sum(tf.square(x), -1), -2);
}

/** Sets masked logits to -1e9 so a softmax gives them weight 0 (exp underflows exactly). */
export function maskLogits(logits: Tensor, allowed?: Tensor): Tensor {
  return allowed ? tf.add(logits, tf.mul(tf.sub(allowed, 1), 1e9)) : logits;
}
