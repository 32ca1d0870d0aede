/**
 * `top-hessian-eigenvalues`: the k largest eigenvalues of the Hessian at the current parameters
 * (k = 1 by default: λ₁, the sharpness), on exact Hessian-vector products of the analysis batch
 * (the dataset's fixed evaluation batch, else the current training batch, so values compare
 * across steps), or of `batches` batches averaged (`aggregate`).
 *
 * - `method: lanczos` (the default): Lanczos with full reorthogonalisation, `steps` products
 *   (default max(2k + 20, 40), at most the dimension); `which: largest` (algebraically, the
 *   default) or `magnitude` (largest in absolute value).
 * - `method: power`: power iteration (k = 1), which finds the eigenvalue of largest magnitude
 *   (as PyHessian's `eigenvalues()` does), stopping when the Rayleigh quotient changes by at most
 *   `tolerance` (1e-4) relative, or after `maxIterations` (100) products. Giving `maxIterations`
 *   or `tolerance` selects it: those are the keys of the former `top-hessian-eigenvalue`, which
 *   is this plugin's former name, so specs written for it run as before.
 *
 * Value: λ₁, the first of `eigenvalues` (the largest, or the largest in magnitude). Data:
 * `eigenvalues` (k of them, in that order) and `lanczosSteps`, or for power iteration
 * `iterations`, `converged`, `residual` (‖Hv − λv‖/|λ|) and `parameters`.
 */
import { definePlugin, z, type AnalysisInstance, type AnalysisOutput } from '@tdx/core';
import { powerIteration, type AnalysisTarget } from '@tdx/tensor';
import { analysisBatches, batchesConfig } from '../curvature/config.js';
import { hessianOperator, type CurvatureOperator } from '../curvature/operators.js';
import { topEigenvalues } from '../spectral/top-eigenvalues.js';

const POWER_ONLY = ['maxIterations', 'tolerance'] as const;

export const topHessianEigenvaluesConfig = z
  .object({
    /** How many eigenvalues: λ₁ … λ_k. */
    k: z.number().int().positive().default(1),
    /** `lanczos`, or `power` (k = 1); default `power` when maxIterations or tolerance is given. */
    method: z.enum(['lanczos', 'power']).optional(),
    /** `largest`: algebraically largest (Lanczos's default); `magnitude`: largest |λ| (power's). */
    which: z.enum(['largest', 'magnitude']).optional(),
    /** Lanczos steps (default max(2k + 20, 40), at most the dimension). */
    steps: z.number().int().positive().optional(),
    /** Power iteration: products at most (default 100). */
    maxIterations: z.number().int().positive().optional(),
    /** Power iteration: stop when the estimate changes by at most this, relative (default 1e-4). */
    tolerance: z.number().positive().lt(1).optional(),
    ...batchesConfig,
  })
  .superRefine((c, ctx) => {
    const power = (c.method ?? methodOf(c)) === 'power';
    const problem = (key: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [key], message });
    if (power && c.k !== 1)
      problem('k', 'power iteration finds one eigenvalue: use method: lanczos for k > 1');
    if (power && c.which === 'largest')
      problem(
        'which',
        'power iteration finds the eigenvalue of largest magnitude: use method: lanczos for the algebraically largest',
      );
    if (power && c.steps !== undefined)
      problem('steps', 'steps is for method: lanczos; power iteration takes maxIterations');
    for (const key of POWER_ONLY)
      if (!power && c[key] !== undefined)
        problem(key, `${key} is for method: power; Lanczos runs \`steps\` steps`);
  })
  .transform((c) => {
    const method = c.method ?? methodOf(c);
    return { ...c, method, which: c.which ?? (method === 'power' ? 'magnitude' : 'largest') };
  });

/** The method a config without one asks for: power when it sets a power-iteration key. */
function methodOf(c: { maxIterations?: number; tolerance?: number }): 'lanczos' | 'power' {
  return POWER_ONLY.some((key) => c[key] !== undefined) ? 'power' : 'lanczos';
}

export type TopHessianEigenvaluesConfig = z.output<typeof topHessianEigenvaluesConfig>;

function byLanczos(
  op: CurvatureOperator,
  config: TopHessianEigenvaluesConfig,
  seed: number,
): AnalysisOutput & { value: number } {
  const { values, steps } = topEigenvalues(op.apply, op.dimension, {
    k: config.k,
    which: config.which,
    seed,
    ...(config.steps ? { steps: config.steps } : {}),
  });
  return { value: values[0]!, data: { eigenvalues: values, lanczosSteps: steps } };
}

function byPowerIteration(
  op: CurvatureOperator,
  config: TopHessianEigenvaluesConfig,
  seed: number,
): AnalysisOutput & { value: number } {
  const result = powerIteration(op.apply, op.dimension, {
    maxIterations: config.maxIterations ?? 100,
    tolerance: config.tolerance ?? 1e-4,
    seed,
  });
  return {
    value: result.eigenvalue,
    data: {
      eigenvalues: [result.eigenvalue],
      iterations: result.iterations,
      converged: result.converged,
      residual: result.residual,
      parameters: op.dimension,
    },
  };
}

export function topHessianEigenvalues(
  target: AnalysisTarget,
  config: TopHessianEigenvaluesConfig,
  seed: number,
): AnalysisOutput & { value: number } {
  const { batches, release } = analysisBatches(target, config.batches);
  try {
    const op = hessianOperator(target.lossOn, target.params, batches, {
      aggregate: config.aggregate,
    });
    return config.method === 'power'
      ? byPowerIteration(op, config, seed)
      : byLanczos(op, config, seed);
  } finally {
    release();
  }
}

export const topHessianEigenvaluesPlugin = definePlugin({
  kind: 'analysis',
  name: 'top-hessian-eigenvalues',
  aliases: ['top-hessian-eigenvalue'],
  description:
    'the k largest Hessian eigenvalues, λ₁ by default (Lanczos with full reorthogonalisation, or power iteration)',
  config: topHessianEigenvaluesConfig,
  create: (config): AnalysisInstance => ({
    run: (target, ctx) => topHessianEigenvalues(target as AnalysisTarget, config, ctx.seed),
  }),
});
