/**
 * SLQ over several curvature operators, as independent parts, one per (operator, probe): the
 * `parallel` side of the SLQ analyses. In a run's process `run` computes every part itself;
 * with analysis workers, tdx computes them in other processes and `combine` puts them
 * together, with the same result: a part depends only on the parameters, the analysis
 * batches, the operator and the probe's seed.
 */
import type { AnalysisContext, AnalysisOutput, ParallelAnalysis } from '@tdx/core';
import type { AnalysisTarget, Batch } from '@tdx/tensor';
import { slqProbe, type Quadrature, type SlqSettings } from '../spectral/slq.js';
import { analysisBatches } from './config.js';
import type { CurvatureOperator } from './operators.js';

export interface OperatorQuadratures {
  name: string;
  dimension: number;
  /** One per probe, in order. */
  quadratures: Quadrature[];
}

export interface SlqPartsOptions {
  /** The operators, built on the analysis batches. */
  operators: (target: AnalysisTarget, batches: Batch[]) => CurvatureOperator[];
  batches: number;
  /** Only the first this many examples of each batch (all when undefined). */
  examples?: number | undefined;
  settings: SlqSettings;
  /** The output, from every operator's quadratures (operator i used seed ctx.seed + i). */
  combine: (target: AnalysisTarget, operators: OperatorQuadratures[]) => AnalysisOutput;
}

/** The current values of every parameter, as JSON: what a worker needs besides the spec. */
interface Shared {
  parameters: number[];
}

function withOperators<T>(
  target: AnalysisTarget,
  options: SlqPartsOptions,
  use: (ops: CurvatureOperator[]) => T,
): T {
  const { batches, release } = analysisBatches(target, options.batches, options.examples);
  try {
    return use(options.operators(target, batches));
  } finally {
    release();
  }
}

export function slqParts(options: SlqPartsOptions): {
  run: (target: AnalysisTarget, ctx: AnalysisContext) => AnalysisOutput;
  parallel: ParallelAnalysis;
} {
  const probes = options.settings.probes;
  const combine = (target: AnalysisTarget, parts: Quadrature[]): AnalysisOutput => {
    const operators = withOperators(target, options, (ops) =>
      ops.map((op, i) => ({
        name: op.name,
        dimension: op.dimension,
        quadratures: parts.slice(i * probes, (i + 1) * probes),
      })),
    );
    return options.combine(target, operators);
  };
  return {
    run: (target, ctx) =>
      combine(
        target,
        withOperators(target, options, (ops) =>
          ops.flatMap((op, i) =>
            Array.from({ length: probes }, (_, k) =>
              slqProbe(op.apply, op.dimension, options.settings, ctx.seed + i, k),
            ),
          ),
        ),
      ),
    parallel: {
      plan: (target) => {
        const t = target;
        // Without a fixed evaluation batch, the batch analysed is the current step's training
        // batch, which a worker (its trainer at step 0) would not draw: stay in process.
        if (!t.dataset.evalBatch) return undefined;
        const operators = withOperators(t, options, (ops) => ops.length);
        const shared: Shared = { parameters: Array.from(t.params.flatten()) };
        return { parts: operators * probes, shared };
      },
      part: (target, ctx, index, shared) => {
        const t = target;
        t.params.assign((shared as Shared).parameters);
        const i = Math.floor(index / probes);
        return withOperators(t, options, (ops) =>
          slqProbe(
            ops[i]!.apply,
            ops[i]!.dimension,
            options.settings,
            ctx.seed + i,
            index % probes,
          ),
        );
      },
      combine: (target, _ctx, parts) => combine(target, parts as Quadrature[]),
    },
  };
}
