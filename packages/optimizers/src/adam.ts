import { definePlugin, z } from '@tdx/core';
import type { GradientTransformation } from '@tdx/tensor';
import { clipByGlobalNorm } from './transforms/clip-by-global-norm.js';
import { chain, identity } from './chain.js';
import { addDecayedWeights } from './transforms/add-decayed-weights.js';
import { scaleByAdam } from './transforms/scale-by-adam.js';
import { learningRate, scheduleConfig } from './schedule-config.js';
import { scaleByLearningRate } from './transforms/scale-by-learning-rate.js';

export const adamConfig = z.object({
  lr: z.number().positive().describe('The learning rate; with a schedule, its peak.'),
  b1: z.number().min(0).lt(1).default(0.9).describe('Decay of the first-moment (mean) estimate.'),
  b2: z
    .number()
    .min(0)
    .max(1)
    .default(0.999)
    .describe(
      'Decay of the second-moment (uncentred variance) estimate. 1: the bias correction 1 − b2^t is 0, and tdx uses its limit b2 → 1, the running mean (1/t)Σ g² of the squared gradients; with secondMomentInit: gradient, v stays the first g² (Zhang et al. 2024’s theorem).',
    ),
  secondMomentInit: z
    .enum(['zero', 'gradient'])
    .optional()
    .describe(
      'Absent or `zero`: v starts at 0 and is bias-corrected (Kingma & Ba, PyTorch); `gradient`: v starts at the first squared gradient, uncorrected (with b2 = 1 a fixed diagonal preconditioner, as in Zhang et al. 2024’s convergence theorem).',
    ),
  eps: z
    .number()
    .positive()
    .default(1e-8)
    .describe('Added to the square root of the second moment, as PyTorch does.'),
  weightDecay: z.number().min(0).default(0).describe('Decoupled weight decay (AdamW); 0 is Adam.'),
  clipNorm: z
    .number()
    .positive()
    .optional()
    .describe(
      "Clip the gradients' global L2 norm to this value first (PyTorch's clip_grad_norm_).",
    ),
  schedule: scheduleConfig
    .optional()
    .describe('The learning-rate schedule, with `lr` its peak; absent: constant lr.'),
});

export type AdamConfig = z.output<typeof adamConfig>;

/** Adam, or AdamW with weightDecay > 0: chain(clip?, scaleByAdam, addDecayedWeights, -lr(t)), as PyTorch's. */
export function adam(config: AdamConfig): GradientTransformation<unknown[]> {
  return chain(
    config.clipNorm === undefined ? identity() : clipByGlobalNorm(config.clipNorm),
    scaleByAdam(config),
    addDecayedWeights(config.weightDecay),
    scaleByLearningRate(learningRate(config.lr, config.schedule)),
  );
}

export const adamPlugin = definePlugin({
  kind: 'optimizer',
  name: 'adam',
  description:
    'Adam (Kingma & Ba 2015); AdamW when weightDecay > 0 (decoupled, Loshchilov & Hutter 2019)',
  config: adamConfig,
  create: (config) => adam(config),
});
