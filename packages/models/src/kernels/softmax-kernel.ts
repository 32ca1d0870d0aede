/**
 * `softmax`: S = softmax_row(q kᵀ / scale), scale √p by default: the kernel of standard
 * scaled dot-product attention (Vaswani et al. 2017).
 */
import { definePlugin, z } from '@tdx/core';
import { softmax, tf, type AttentionKernel } from '@tdx/tensor';
import { kernelScale, kernelScaleField, maskLogits, pairwiseDot } from './kernel-scale.js';

export const softmaxKernelConfig = z.object({ ...kernelScaleField });

export function softmaxKernel(config: z.output<typeof softmaxKernelConfig>): AttentionKernel {
  return {
    weights: (q, k, allowed) =>
      softmax(maskLogits(tf.div(pairwiseDot(q, k), kernelScale(config, q)), allowed)),
  };
}

export const softmaxKernelPlugin = definePlugin({
  kind: 'attention-kernel',
  name: 'softmax',
  description: 'softmax_row(q·k / scale), scale √p by default: standard dot-product attention',
  config: softmaxKernelConfig,
  create: (config): AttentionKernel => softmaxKernel(config),
});
