/**
 * `gaussian`: S_ij = exp(−‖q_i − k_j‖² / (2·scale)), scale √p by default, as in Song et al.
 * (NeurIPS 2024) and Skyformer's RBF attention: not row-normalised unless `normalize` is set.
 *
 * ‖q − k‖² is expanded as ‖q‖² + ‖k‖² − 2qᵀk (one matmul, exact second derivatives). With
 * `normalize`, the rows are divided by their sums; ‖q_i‖² cancels there, so the weights are
 * computed as softmax_row((2qᵀk − ‖k‖²) / (2·scale)), which cannot overflow.
 */
import { definePlugin, z } from '@tdx/core';
import { softmax, tf, type AttentionKernel } from '@tdx/tensor';
import {
  kernelScale,
  kernelScaleField,
  maskLogits,
  pairwiseDot,
  squaredNorms,
  squaredNormsRow,
} from './kernel-scale.js';

export const gaussianKernelConfig = z.object({
  ...kernelScaleField,
  normalize: z
    .boolean()
    .default(false)
    .describe(
      "Divide each row by its sum (weights sum to 1, like softmax). The paper's kernel does not.",
    ),
});

export function gaussianKernel(config: z.output<typeof gaussianKernelConfig>): AttentionKernel {
  return {
    weights: (q, k, allowed) => {
      const twoScale = 2 * kernelScale(config, q);
      const keyNorms = squaredNormsRow(k);
      const cross = tf.mul(pairwiseDot(q, k), 2);
      if (config.normalize)
        return softmax(maskLogits(tf.div(tf.sub(cross, keyNorms), twoScale), allowed));
      const distances = tf.sub(tf.add(squaredNorms(q), keyNorms), cross);
      const weights = tf.exp(tf.div(tf.neg(distances), twoScale));
      return allowed ? tf.mul(weights, allowed) : weights;
    },
  };
}

export const gaussianKernelPlugin = definePlugin({
  kind: 'attention-kernel',
  name: 'gaussian',
  description:
    'exp(−‖q−k‖² / (2·scale)), scale √p by default (Song et al. 2024); normalize: true divides rows by their sums',
  config: gaussianKernelConfig,
  create: (config): AttentionKernel => gaussianKernel(config),
});
