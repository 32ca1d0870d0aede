/**
 * `clip-by-block-norm`: any optimizer, after each block's gradient is clipped to its own norm
 * (Ahn et al.'s per-matrix clipping, see transforms/clip-by-block-norm.ts):
 * `{ name: clip-by-block-norm, maxNorm: 0.01, optimizer: { name: adam, lr: 0.01 } }`.
 */
import { definePlugin, pluginRef, z } from '@tdx/core';
import type { GradientTransformation } from '@tdx/tensor';
import { chain } from './chain.js';
import { clipByBlockNorm } from './transforms/clip-by-block-norm.js';

export const clipByBlockNormConfig = z.object({
  maxNorm: z
    .number()
    .positive()
    .describe("Each block's gradient is scaled down to this L2 norm when above it."),
  // The optimizer that receives the clipped gradients (leave its clipNorm out: that would clip
  // the global norm after this). No .describe(): it would hide the nested reference.
  optimizer: pluginRef('optimizer'),
});

export const clipByBlockNormPlugin = definePlugin({
  kind: 'optimizer',
  name: 'clip-by-block-norm',
  description:
    "per-block gradient clipping g_b ← g_b·min(1, maxNorm/‖g_b‖) (Ahn et al.'s depth code), then the given optimizer",
  config: clipByBlockNormConfig,
  create: (config): GradientTransformation<unknown[]> =>
    chain(clipByBlockNorm(config.maxNorm), config.optimizer),
});
