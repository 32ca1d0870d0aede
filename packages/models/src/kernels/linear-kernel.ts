/**
 * `linear`: S = q kᵀ / scale (scale √p by default), no exponential and no normalisation: the
 * kernel of linear attention (Katharopoulos et al. 2020 without a feature map; the attention of
 * the linear Transformers of Ahn et al. 2023 up to the scale).
 */
import { definePlugin, z } from '@tdx/core';
import { tf, type AttentionKernel } from '@tdx/tensor';
import { kernelScale, kernelScaleField, pairwiseDot } from './kernel-scale.js';

export const linearKernelConfig = z.object({ ...kernelScaleField });

export function linearKernel(config: z.output<typeof linearKernelConfig>): AttentionKernel {
  return {
    weights: (q, k, allowed) => {
      const weights = tf.div(pairwiseDot(q, k), kernelScale(config, q));
      return allowed ? tf.mul(weights, allowed) : weights;
    },
  };
}

export const linearKernelPlugin = definePlugin({
  kind: 'attention-kernel',
  name: 'linear',
  description: 'q·k / scale, scale √p by default, no normalisation: linear attention',
  config: linearKernelConfig,
  create: (config): AttentionKernel => linearKernel(config),
});
