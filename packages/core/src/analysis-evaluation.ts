/**
 * One evaluation of an analysis: in this process, or, when the analysis splits into parts and
 * analysis workers are available, with its parts spread over them.
 */
import type { AnalysisContext, AnalysisInstance, AnalysisOutput, RunTarget } from './contracts.js';
import type { AnalysisPool } from './pool/analysis-pool.js';

export async function evaluateAnalysis(
  instance: AnalysisInstance,
  analysisIndex: number,
  target: RunTarget,
  ctx: AnalysisContext,
  pool: () => AnalysisPool | null,
): Promise<{ output: AnalysisOutput; split?: { parts: number; workers: number } }> {
  const parallel = instance.parallel;
  if (parallel) {
    const plan = parallel.plan(target, ctx);
    const workers = plan && plan.parts > 1 ? pool() : null;
    if (plan && workers) {
      const parts = await workers.map({ analysisIndex, ctx, shared: plan.shared }, plan.parts);
      return {
        output: parallel.combine(target, ctx, parts),
        split: { parts: plan.parts, workers: workers.size(plan.parts) },
      };
    }
  }
  return { output: await instance.run(target, ctx) };
}
