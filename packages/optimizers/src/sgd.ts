import { definePlugin, z } from '@tdx/core';
import type { GradientTransformation } from '@tdx/tensor';
import { clipByGlobalNorm } from './transforms/clip-by-global-norm.js';
import { chain, identity } from './chain.js';
import { addDecayedWeights } from './transforms/add-decayed-weights.js';
import { learningRate, scheduleConfig } from './schedule-config.js';
import { scaleByLearningRate } from './transforms/scale-by-learning-rate.js';
import { trace } from './transforms/trace.js';

export const sgdConfig = z.object({
  lr: z.number().positive().describe('The learning rate; with a schedule, its peak.'),
  momentum: z.number().min(0).lt(1).default(0).describe('Momentum μ; 0 is plain SGD.'),
  nesterov: z.boolean().default(false).describe("Nesterov momentum (PyTorch's nesterov=True)."),
  weightDecay: z
    .number()
    .min(0)
    .default(0)
    .describe("L2 penalty added to the gradient (PyTorch's weight_decay for SGD)."),
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

export type SgdConfig = z.output<typeof sgdConfig>;

/** PyTorch's SGD: optional clipping, g + λw, then momentum (dampening 0), then -lr(t). */
export function sgd(config: SgdConfig): GradientTransformation<unknown[]> {
  return chain(
    config.clipNorm === undefined ? identity() : clipByGlobalNorm(config.clipNorm),
    addDecayedWeights(config.weightDecay),
    config.momentum > 0 ? trace({ decay: config.momentum, nesterov: config.nesterov }) : identity(),
    scaleByLearningRate(learningRate(config.lr, config.schedule)),
  );
}

export const sgdPlugin = definePlugin({
  kind: 'optimizer',
  name: 'sgd',
  description:
    'stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay, as in PyTorch',
  config: sgdConfig.refine((c) => !c.nesterov || c.momentum > 0, {
    message: 'nesterov needs momentum > 0',
    path: ['nesterov'],
  }),
  create: (config) => sgd(config),
});
