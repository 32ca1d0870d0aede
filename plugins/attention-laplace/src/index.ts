/**
 * A tdx plugin package. A spec loads it with `plugins: ['@tdx/plugin-laplace-attention']` and
 * then names `laplace` as any attention model's kernel (`attention: { name: laplace }`); nothing
 * in tdx's own packages knows it exists.
 */
import { definePlugin, z, type Registry } from '@tdx/core';
import type { AttentionKernel } from '@tdx/tensor';
import { laplaceKernel } from './laplace-kernel.js';

export { laplaceKernel, type LaplaceKernelOptions } from './laplace-kernel.js';

export const laplace = definePlugin({
  kind: 'attention-kernel',
  name: 'laplace',
  description: 'exp(−‖q−k‖ / scale), scale √p by default: the Laplace kernel (not normalised)',
  config: z.object({
    scale: z
      .number()
      .positive()
      .optional()
      .describe('The length scale of exp(−‖q−k‖ / scale); absent: √p, p the key width.'),
    epsilon: z
      .number()
      .positive()
      .default(1e-6)
      .describe('Smooths the distance, √(‖q−k‖² + ε²), so its gradient is finite at q = k.'),
    normalize: z
      .boolean()
      .default(false)
      .describe('Divide each row by its sum (as softmax attention is).'),
  }),
  create: (config): AttentionKernel => laplaceKernel(config),
});

/** What tdx calls when a spec lists this package under `plugins`. */
export function register(registry: Registry): Registry {
  return registry.register(laplace);
}
