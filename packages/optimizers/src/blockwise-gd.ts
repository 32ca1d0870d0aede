/**
 * Gradient descent with one learning rate per parameter block: the explanation of Zhang et al.
 * (2024, §4) for why Adam beats GD on block-heterogeneous Hessians. Block b steps with
 * lr_b = scale / |λ|max(H_bb), the largest eigenvalue of its diagonal Hessian block at the
 * initial point (by power iteration on the trainer's Hessian-vector products), unless
 * `blockLr` gives it. On a block-diagonal quadratic this makes each block converge at the rate
 * of its own condition number instead of the global one.
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import {
  mapValues,
  tf,
  type GradientTransformation,
  type OptimizerContext,
  type ParamValues,
} from '@tdx/tensor';
import { blockCurvature } from './block-curvature.js';

export const blockwiseGdConfig = z.object({
  scale: z
    .number()
    .positive()
    .default(1)
    .describe(
      "Each block's step is scale / λmax(H_bb). On a block-diagonal quadratic every scale below 2 converges (2 is the edge); when blocks are coupled even 1 carries no guarantee.",
    ),
  blockLr: z
    .record(z.string(), z.number().positive())
    .default({})
    .describe('Learning rates by block name; these blocks skip the curvature estimate.'),
  maxIterations: z
    .number()
    .int()
    .positive()
    .default(200)
    .describe('Power iterations per block for λmax(H_bb).'),
  tolerance: z.number().positive().lt(1).default(1e-6),
});

export type BlockwiseGdConfig = z.output<typeof blockwiseGdConfig>;

/** Plain numbers, so they are checkpointed with the run and visible in it. */
export interface BlockwiseGdState {
  lr: Record<string, number>;
  /** λmax(H_bb) of the blocks whose rate was estimated. */
  curvature: Record<string, { eigenvalue: number; iterations: number; converged: boolean }>;
}

export function blockwiseGd(
  config: BlockwiseGdConfig,
  seed = 0,
): GradientTransformation<BlockwiseGdState> {
  return {
    init(params: ParamValues, context?: OptimizerContext): BlockwiseGdState {
      const unknown = Object.keys(config.blockLr).filter((name) => !(name in params));
      if (unknown.length > 0)
        throw new TdxError(
          'INVALID_ARGUMENT',
          `blockwise-gd: blockLr names ${unknown.map((n) => `"${n}"`).join(', ')}, which ${unknown.length > 1 ? 'are not trainable blocks' : 'is not a trainable block'}`,
          { hint: `the trainable blocks are ${Object.keys(params).join(', ')}` },
        );
      const lr: Record<string, number> = {};
      const curvature: BlockwiseGdState['curvature'] = {};
      for (const name of Object.keys(params)) {
        const given = config.blockLr[name];
        if (given !== undefined) {
          lr[name] = given;
          continue;
        }
        if (!context)
          throw new TdxError(
            'INVALID_ARGUMENT',
            `blockwise-gd needs the loss's curvature to set the rate of block "${name}", and its trainer gave none`,
            { hint: 'use the minibatch trainer, or give every block a rate under blockLr' },
          );
        const estimate = blockCurvature(context, params, name, {
          maxIterations: config.maxIterations,
          tolerance: config.tolerance,
          seed,
        });
        if (!(estimate.eigenvalue > 0))
          throw new TdxError(
            'RUN_FAILED',
            `blockwise-gd: the Hessian block of "${name}" is zero at the initial point, so it sets no rate`,
            { hint: `give it one: blockLr: { "${name}": 0.01 }` },
          );
        curvature[name] = estimate;
        lr[name] = config.scale / estimate.eigenvalue;
      }
      return { lr, curvature };
    },
    update: (grads, state) => ({
      updates: mapValues(grads, (g, name) => tf.mul(g, -state.lr[name]!)),
      state,
    }),
  };
}

export const blockwiseGdPlugin = definePlugin({
  kind: 'optimizer',
  name: 'blockwise-gd',
  description:
    'gradient descent with one rate per block, scale / λmax(H_bb) at the start (or given): the quadratic study of Zhang et al. 2024',
  config: blockwiseGdConfig,
  create: (config, ctx) => blockwiseGd(config, ctx.seed),
});
