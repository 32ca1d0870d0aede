/** How models use a kernel: the one the registry created for their `attention` field. */
import type { PluginContext } from '@tdx/core';
import {
  asAttentionKernel,
  tf,
  type AttentionKernel,
  type DatasetInfo,
  type Model,
  type ModelBuilder,
  type Tensor,
} from '@tdx/tensor';

/**
 * A model plugin's instance: `build` with the config, the plugin's seed and the kernel of the
 * config's `attention` field, which the registry created (with the model's seed) and injected
 * in place of the reference. It is checked here because a kernel plugin need not be typed.
 */
export function kernelModel<Config extends { attention: AttentionKernel }, Built extends Model>(
  { attention, ...config }: Config,
  ctx: PluginContext,
  build: (
    config: Omit<Config, 'attention'>,
    info: DatasetInfo,
    seed: number,
    kernel: AttentionKernel,
  ) => Built,
): ModelBuilder {
  const kernel = asAttentionKernel(attention, `the attention-kernel at ${ctx.path}.attention`);
  return { build: (info) => build(config, info, ctx.seed, kernel) };
}

/** S(q, k) v over q, k, v [..., T, d]; `allowed` masks keys (see AttentionKernel). */
export function attend(
  kernel: AttentionKernel,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  allowed?: Tensor,
): Tensor {
  return tf.matMul(kernel.weights(q, k, allowed), v);
}
