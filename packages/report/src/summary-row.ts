/** One row per run: outcome and configuration, for the report's table and for summary.csv. */
import type { RunData } from '@tdx/core';

export type ConfigValue = string | number | boolean | null;

export interface SummaryRow {
  id: string;
  label: string;
  group: string;
  seed: number;
  /** The result's status, or `unfinished` when the run has no result.json. */
  status: string;
  /** For a run of a tuned optimizer: whether its value was the one chosen. */
  tuned: 'chosen' | 'not chosen' | null;
  steps: number | null;
  final_loss: number | null;
  final_eval_loss: number | null;
  best_loss: number | null;
  best_eval_loss: number | null;
  wall_time_s: number | null;
  /**
   * Each analysis's headline value at the first and the last step it ran, as
   * `<label>@<step>` (e.g. JS⁰ at initialisation and after training).
   */
  analyses: Record<string, number | null>;
  /** Flattened config: `model.layers`, `optimizer.lr`, ... */
  config: Record<string, ConfigValue>;
}

/** The parts of a run's spec that say how it was configured, in column order. */
export const CONFIG_PARTS = ['dataset', 'model', 'optimizer', 'trainer', 'train'] as const;

/** Leaves of nested objects under dotted paths; arrays kept whole, as JSON. */
function flatten(value: unknown, path: string, out: Record<string, ConfigValue>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatten(child, `${path}.${key}`, out);
  } else if (Array.isArray(value)) {
    out[path] = JSON.stringify(value);
  } else if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  ) {
    out[path] = value;
  }
}

/** The smallest finite value, ignoring nulls (a step whose loss was not finite). */
function best(values: readonly unknown[]): number | null {
  let min: number | null = null;
  for (const v of values)
    if (typeof v === 'number' && Number.isFinite(v) && (min === null || v < min)) min = v;
  return min;
}

function analysisValues(run: RunData): Record<string, number | null> {
  const values: Record<string, number | null> = {};
  for (const [label, file] of Object.entries(run.analyses)) {
    const withValue = file.records.filter((r) => r.value !== undefined);
    for (const record of new Set([withValue[0], withValue.at(-1)])) {
      if (!record) continue;
      const v = record.value;
      values[`${label}@${record.step}`] = typeof v === 'number' && Number.isFinite(v) ? v : null;
    }
  }
  return values;
}

export function summaryRow(run: RunData, tuned: 'chosen' | 'not chosen' | null = null): SummaryRow {
  const config: SummaryRow['config'] = {};
  for (const part of CONFIG_PARTS)
    if (run.spec[part] !== undefined) flatten(run.spec[part], part, config);
  const result = run.result;
  return {
    id: run.id,
    label: run.label,
    group: run.group,
    seed: run.seed,
    status: result?.status ?? 'unfinished',
    tuned,
    steps: result?.steps ?? null,
    final_loss: result?.finalLoss ?? null,
    final_eval_loss: result?.finalEvalLoss ?? null,
    best_loss: best(run.metrics.map((m) => m.loss)),
    best_eval_loss: best(run.metrics.map((m) => m.evalLoss)),
    wall_time_s: result ? result.wallMs / 1000 : null,
    analyses: analysisValues(run),
    config,
  };
}
