/** How models use a kernel: create it from their config's reference, and attend with it. */
import type { NestedPluginRef, PluginContext } from '@tdx/core';
import { asAttentionKernel, tf, type AttentionKernel, type Tensor } from '@tdx/tensor';

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
