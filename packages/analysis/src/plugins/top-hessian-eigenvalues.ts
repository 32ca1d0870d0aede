/** The k largest Hessian eigenvalues by Lanczos with full reorthogonalisation. */
import { definePlugin, z, type AnalysisInstance, type AnalysisOutput } from '@tdx/core';
import type { AnalysisTarget } from '@tdx/tensor';
import { analysisBatches, batchesConfig } from '../curvature/config.js';
import { hessianOperator } from '../curvature/operators.js';
import { topEigenvalues } from '../spectral/top-eigenvalues.js';

export const topHessianEigenvaluesConfig = z.object({
  k: z.number().int().positive().default(5),
  steps: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Lanczos steps (default max(2k + 20, 40), at most the dimension).'),
  which: z
    .enum(['largest', 'magnitude'])
    .default('largest')
    .describe('`largest`: algebraically largest; `magnitude`: largest in absolute value.'),
  ...batchesConfig,
});

export function topHessianEigenvalues(
  target: AnalysisTarget,
  config: z.output<typeof topHessianEigenvaluesConfig>,
  seed: number,
): AnalysisOutput & { value: number } {
  const { batches, release } = analysisBatches(target, config.batches, config.examples);
  try {
    const op = hessianOperator(target.lossOn, target.params, batches, {
      aggregate: config.aggregate,
    });
    const { values, steps } = topEigenvalues(op.apply, op.dimension, {
      k: config.k,
      which: config.which,
      seed,
      ...(config.steps ? { steps: config.steps } : {}),
    });
    return { value: values[0]!, data: { eigenvalues: values, lanczosSteps: steps } };
  } finally {
    release();
  }
}

export const topHessianEigenvaluesPlugin = definePlugin({
  kind: 'analysis',
  name: 'top-hessian-eigenvalues',
  title: 'largest Hessian eigenvalue (Lanczos)',
  description: 'the k largest Hessian eigenvalues (Lanczos with full reorthogonalisation)',
  config: topHessianEigenvaluesConfig,
  create: (config): AnalysisInstance => ({
    run: (target, ctx) => topHessianEigenvalues(target, config, ctx.seed),
  }),
});
