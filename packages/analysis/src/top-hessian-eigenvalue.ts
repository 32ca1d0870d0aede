/**
 * The Hessian's eigenvalue of largest magnitude at the current parameters, by power iteration
 * on exact Hessian-vector products. The loss is that of the dataset's fixed evaluation batch
 * (else the current training batch), so values are comparable across steps.
 */
import { definePlugin, z, type AnalysisInstance, type AnalysisOutput } from '@tdx/core';
import { hvpFlat, powerIteration, type AnalysisTarget } from '@tdx/tensor';

export const topHessianEigenvalueConfig = z.object({
  maxIterations: z.number().int().positive().default(100),
  tolerance: z
    .number()
    .positive()
    .lt(1)
    .default(1e-4)
    .describe('Relative change of the estimate below which the iteration stops.'),
});

export type TopHessianEigenvalueConfig = z.output<typeof topHessianEigenvalueConfig>;

export function topHessianEigenvalue(
  target: AnalysisTarget,
  config: TopHessianEigenvalueConfig,
  seed: number,
): AnalysisOutput & { value: number } {
  const params = target.params.trainable();
  const loss = target.lossOn(target.analysisBatch());
  const result = powerIteration(
    (v) => hvpFlat(loss, target.params, v, { wrt: params }),
    params.size,
    {
      maxIterations: config.maxIterations,
      tolerance: config.tolerance,
      seed,
    },
  );
  return {
    value: result.eigenvalue,
    data: {
      iterations: result.iterations,
      converged: result.converged,
      residual: result.residual,
      parameters: params.size,
    },
  };
}

export const topHessianEigenvaluePlugin = definePlugin({
  kind: 'analysis',
  name: 'top-hessian-eigenvalue',
  title: 'top Hessian eigenvalue',
  description:
    "the Hessian's eigenvalue of largest magnitude (power iteration on exact Hessian-vector products)",
  config: topHessianEigenvalueConfig,
  create: (config): AnalysisInstance => ({
    run: (target, ctx) => topHessianEigenvalue(target, config, ctx.seed),
  }),
});
