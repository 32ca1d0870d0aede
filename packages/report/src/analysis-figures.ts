/**
 * Figures of the analyses: those an analysis draws itself (its instance's `figures`), or by
 * default its headline value against step, one line per run group.
 */
import {
  pluginTitle,
  groupRuns,
  groupSeries,
  seedsCaption,
  type AnalysisFile,
  type ExperimentData,
  type FigureSpec,
  type ReportContext,
  type RunData,
  type RunIdentity,
} from '@tdx/core';
import { isNotLoaded, messageOf } from './plugin-errors.js';

type AnalysisRuns = Array<{ run: RunIdentity; file: AnalysisFile }>;

/** Analysis labels in the order they first appear. */
function analysisLabels(runs: readonly RunData[]): string[] {
  return [...new Set(runs.flatMap((r) => Object.keys(r.analyses)))];
}

/** What analyses get to know about a run: where it sits in the experiment, not its data. */
function identityOf(run: RunData): RunIdentity {
  const { id, label, group, seed, model, optimizer, sweep } = run;
  return { id, label, group, seed, model, optimizer, sweep };
}

/** A reference's label is its name unless it says otherwise. */
const labelOf = (ref: Record<string, unknown>): unknown => ref.label ?? ref.name;

/**
 * The analysis reference of the run's spec with this label, without its schedule keys
 * (`every`, `at`), which are not config.
 */
export function analysisRef(run: RunData, label: string): Record<string, unknown> | undefined {
  const refs: unknown[] = Array.isArray(run.spec.analyses) ? run.spec.analyses : [];
  const ref = refs.find(
    (r): r is Record<string, unknown> =>
      r !== null && typeof r === 'object' && labelOf(r as Record<string, unknown>) === label,
  );
  if (!ref) return undefined;
  const { every: _every, at: _at, ...rest } = ref;
  return rest;
}

/** The analysis's own figures, or undefined when it has none or cannot be created here. */
function ownFigures(
  label: string,
  runs: readonly RunData[],
  ctx: ReportContext,
): FigureSpec[] | undefined {
  const ref = analysisRef(runs[0]!, label);
  if (!ref) return undefined;
  try {
    const instance = ctx.registry.create('analysis', ref, {
      path: `analyses.${label}`,
    });
    const input: AnalysisRuns = runs.map((run) => ({
      run: identityOf(run),
      file: run.analyses[label]!,
    }));
    return instance.figures?.(input);
  } catch (error) {
    // Not registered here (a plugin module of the spec's, not loaded): the default figure
    // still shows the values. Any other failure is a bug to report, not to hide.
    if (!isNotLoaded(error))
      ctx.problem?.(`the figures of analysis "${label}" failed: ${messageOf(error)}`);
    return undefined;
  }
}

/** `Top Hessian eigenvalue` from `top Hessian eigenvalue`: a title starts with a capital. */
const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The headline value against step, per group; undefined when no record has a value. Titled
 * by the plugin's display name where the plugin is registered here, else by its id.
 */
function valueFigure(
  label: string,
  runs: readonly RunData[],
  ctx: ReportContext,
): FigureSpec | undefined {
  const groups = groupRuns(runs);
  const valuesOf = (run: RunData) =>
    (run.analyses[label]?.records ?? []).flatMap((r) =>
      typeof r.value === 'number' && Number.isFinite(r.value) ? [{ x: r.step, y: r.value }] : [],
    );
  const all = runs.flatMap(valuesOf);
  if (all.length === 0) return undefined;
  const analysis = runs[0]!.analyses[label]!.analysis;
  const plugin = ctx.registry.find('analysis', analysis);
  const name = plugin ? pluginTitle(plugin) : analysis;
  return {
    kind: 'lines',
    id: `analysis-${label}`,
    title: label === analysis ? capitalised(name) : `${capitalised(name)} (${label})`,
    caption:
      `The value of the analysis ${label === analysis ? analysis : `“${label}” (${analysis})`} at each step it ran. ` +
      seedsCaption(groups),
    x: { label: 'step' },
    // A log scale would drop the non-positive values: only when there are none.
    y: { label: name, log: all.every((p) => p.y > 0) },
    series: groups.map((g) => groupSeries(g, valuesOf)),
  };
}

export function analysisFigures(data: ExperimentData, ctx: ReportContext): FigureSpec[] {
  return analysisLabels(data.runs).flatMap((label) => {
    const runs = data.runs.filter((r) => r.analyses[label]);
    const own = ownFigures(label, runs, ctx);
    if (own && own.length > 0) return own;
    const fallback = valueFigure(label, runs, ctx);
    return fallback ? [fallback] : [];
  });
}
