/**
 * Choosing tuned values (`tune:` in a spec): within each cell (model, optimizer, sweep point),
 * the grid value whose runs have the lowest mean metric over seeds. A run that failed, diverged
 * or lacks the metric counts as +∞, so it is never chosen over one that finished.
 */
import { canonicalJson } from './canonical-json.js';
import type { ExperimentData, RunData } from './experiment-data.js';
import type { TuneMetric } from './spec/schema.js';

export interface TuneCandidate {
  /** The tuned values, by config path inside the optimizer (`{ lr: 0.01 }`). */
  tune: Record<string, unknown>;
  /** Mean of the metric over the candidate's runs; +∞ when a run has none. */
  score: number;
  runIds: string[];
}

export interface TuneCell {
  model: string;
  optimizer: string;
  sweep: Record<string, unknown>;
  /** In grid order. */
  candidates: TuneCandidate[];
  /** The best candidate; undefined when every one failed or diverged. */
  chosen?: TuneCandidate;
}

export interface TuneSelection {
  metric: TuneMetric;
  cells: TuneCell[];
}

/** A run's value of a tuning metric; +∞ when it has none (failed, diverged, unfinished). */
export function runMetric(run: RunData, metric: TuneMetric): number {
  const finite = (x: unknown): number =>
    typeof x === 'number' && Number.isFinite(x) ? x : Infinity;
  if (run.result?.status !== 'completed') return Infinity;
  switch (metric) {
    case 'finalLoss':
      return finite(run.result.finalLoss);
    case 'finalEvalLoss':
      return finite(run.result.finalEvalLoss);
    case 'bestLoss':
    case 'bestEvalLoss': {
      const field = metric === 'bestLoss' ? 'loss' : 'evalLoss';
      // A diverged run's best loss may be early and small: it still ends as +∞.
      const last = finite(run.metrics.at(-1)?.[field]);
      if (last === Infinity) return Infinity;
      return Math.min(...run.metrics.map((m) => finite(m[field])));
    }
  }
}

/** The tuning metric of the experiment's spec, or undefined when it tunes nothing. */
export function tuneMetricOf(data: ExperimentData): TuneMetric | undefined {
  const tune = data.spec.tune as { metric?: TuneMetric } | undefined;
  if (!tune || !data.runs.some((r) => r.tune)) return undefined;
  return tune.metric ?? 'finalLoss';
}

export function selectTuned(
  runs: readonly RunData[],
  metric: TuneMetric = 'finalLoss',
): TuneSelection {
  const cells = new Map<string, TuneCell & { byTune: Map<string, RunData[]> }>();
  for (const run of runs) {
    if (!run.tune) continue;
    const key = canonicalJson([run.model, run.optimizer, run.sweep]);
    let cell = cells.get(key);
    if (!cell) {
      cell = {
        model: run.model,
        optimizer: run.optimizer,
        sweep: run.sweep,
        candidates: [],
        byTune: new Map(),
      };
      cells.set(key, cell);
    }
    const tuneKey = canonicalJson(run.tune);
    const members = cell.byTune.get(tuneKey);
    if (members) members.push(run);
    else cell.byTune.set(tuneKey, [run]);
  }
  return {
    metric,
    cells: [...cells.values()].map(({ byTune, ...cell }) => {
      const candidates = [...byTune.values()].map((members) => ({
        tune: members[0]!.tune!,
        score: members.reduce((sum, r) => sum + runMetric(r, metric), 0) / members.length,
        runIds: members.map((r) => r.id),
      }));
      const best = candidates.reduce<TuneCandidate | undefined>(
        (a, c) => (c.score < (a?.score ?? Infinity) ? c : a),
        undefined,
      );
      return { ...cell, candidates, ...(best ? { chosen: best } : {}) };
    }),
  };
}

/**
 * The experiment as its reports show it: runs of tuned optimizers only at their chosen values
 * (all seeds), other runs unchanged. Unchanged when the spec tunes nothing.
 */
export function tunedView(data: ExperimentData): ExperimentData {
  const metric = tuneMetricOf(data);
  if (!metric) return data;
  const chosen = new Set(
    selectTuned(data.runs, metric).cells.flatMap((c) => c.chosen?.runIds ?? []),
  );
  return { ...data, runs: data.runs.filter((r) => !r.tune || chosen.has(r.id)) };
}
