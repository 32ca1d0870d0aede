/** The Hessian's trace by Hutchinson's estimator with Rademacher probes (tr H = E vᵀHv). */
import { definePlugin, z, type AnalysisInstance, type AnalysisOutput } from '@tdx/core';
import type { AnalysisTarget } from '@tdx/tensor';
import { analysisBatches, batchesConfig } from '../curvature/config.js';
import { hessianOperator } from '../curvature/operators.js';
import { hutchinsonTrace } from '../spectral/hutchinson.js';

export const hessianTraceConfig = z.object({
  probes: z.number().int().positive().default(100),
  ...batchesConfig,
});

export function hessianTrace(
  target: AnalysisTarget,
  config: z.output<typeof hessianTraceConfig>,
  seed: number,
): AnalysisOutput & { value: number } {
  const { batches, release } = analysisBatches(target, config.batches, config.examples);
  try {
    const op = hessianOperator(target.lossOn, target.params, batches, {
      aggregate: config.aggregate,
    });
    const estimate = hutchinsonTrace(op.apply, op.dimension, config.probes, seed);
    return {
      value: estimate.trace,
      data: {
        standardError: estimate.standardError,
        probes: config.probes,
        samples: estimate.samples,
      },
    };
  } finally {
    release();
  }
}

export const hessianTracePlugin = definePlugin({
  kind: 'analysis',
  name: 'hessian-trace',
  title: 'Hessian trace',
  description:
    "the Hessian's trace by Hutchinson's estimator (Rademacher probes), with its standard error",
  config: hessianTraceConfig,
  create: (config): AnalysisInstance => ({
    run: (target, ctx) => hessianTrace(target, config, ctx.seed),
  }),
});
