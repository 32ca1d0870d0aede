/**
 * A tdx plugin package. A spec loads it with `plugins: ['@tdx/plugin-lion']` and then names
 * `lion` under `optimizers`; nothing in tdx's own packages knows it exists.
 */
import { definePlugin, z, type Registry } from '@tdx/core';
import { addDecayedWeights, chain, scaleByLearningRate } from '@tdx/optimizers';
import { scaleByLion } from './scale-by-lion.js';

export { scaleByLion, type LionOptions } from './scale-by-lion.js';

export const lion = definePlugin({
  kind: 'optimizer',
  name: 'lion',
  description:
    'Lion (Chen et al. 2023): the sign of an interpolated momentum, decoupled weight decay',
  config: z.object({
    lr: z
      .number()
      .positive()
      .default(1e-4)
      .describe('The learning rate; Lion wants one 3-10x smaller than AdamW.'),
    b1: z
      .number()
      .min(0)
      .lt(1)
      .default(0.9)
      .describe('Interpolation of momentum and gradient whose sign is the update.'),
    b2: z.number().min(0).lt(1).default(0.99).describe('Decay of the momentum.'),
    weightDecay: z.number().min(0).default(0).describe('Decoupled weight decay, as AdamW.'),
  }),
  create: (config) =>
    chain(
      scaleByLion(config),
      addDecayedWeights(config.weightDecay),
      scaleByLearningRate(config.lr),
    ),
});

/** What tdx calls when a spec lists this package under `plugins`. */
export function register(registry: Registry): Registry {
  return registry.register(lion);
}
