/** How models use a kernel: create it from their config's reference, and attend with it. */
import type { NestedPluginRef, PluginContext } from '@tdx/core';
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
 * A model plugin's instance: the kernel its `attention` field names, created once in the run's
 * registry, handed to `build` with the config and the plugin's seed.
 */
export function withKernel<Config extends { attention: NestedPluginRef }, Built extends Model>(
  config: Config,
  ctx: PluginContext,
  build: (config: Config, info: DatasetInfo, seed: number, kernel: AttentionKernel) => Built,
): ModelBuilder {
  const kernel = createKernel(config.attention, ctx);
  return { build: (info) => build(config, info, ctx.seed, kernel) };
}

/** The kernel a model's `attention` field names, created in the run's registry. */
export function createKernel(ref: NestedPluginRef, ctx: PluginContext): AttentionKernel {
  const path = `${ctx.path}.attention`;
  return asAttentionKernel(
    ctx.registry.create('attention-kernel', ref, { path, seed: ctx.seed }),
    `the attention-kernel at ${path}`,
  );
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
