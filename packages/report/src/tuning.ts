/**
 * What reports show of a tuned spec (`tune:`): the metric against each tuned value, per
 * optimizer (one line per model and sweep point), and which runs were chosen.
 */
import {
  selectTuned,
  tuneMetricOf,
  type ExperimentData,
  type FigureSpec,
  type Series,
} from '@tdx/core';

export type TuneStatus = 'chosen' | 'not chosen';

/** Each tuned run's status; runs that were not tuned are absent. */
export function tuneStatuses(data: ExperimentData): Map<string, TuneStatus> {
  const metric = tuneMetricOf(data);
  const statuses = new Map<string, TuneStatus>();
  if (!metric) return statuses;
  for (const cell of selectTuned(data.runs, metric).cells)
    for (const candidate of cell.candidates)
      for (const id of candidate.runIds)
        statuses.set(id, candidate === cell.chosen ? 'chosen' : 'not chosen');
  return statuses;
}

const describe = (values: Record<string, unknown>): string =>
  Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');

/**
 * One figure per optimizer whose grid has a single numeric path (the usual learning-rate grid):
 * the mean metric over seeds against the value, log–log. A point missing from a line is a
 * value whose runs failed or diverged.
 */
export function tuningFigures(data: ExperimentData): FigureSpec[] {
  const metric = tuneMetricOf(data);
  if (!metric) return [];
  const selection = selectTuned(data.runs, metric);
  const optimizers = [...new Set(selection.cells.map((c) => c.optimizer))];
  return optimizers.flatMap((optimizer): FigureSpec[] => {
    const cells = selection.cells.filter((c) => c.optimizer === optimizer);
    const keys = Object.keys(cells[0]!.candidates[0]!.tune);
    const numeric = cells.every((c) =>
      c.candidates.every((d) => typeof d.tune[keys[0]!] === 'number'),
    );
    if (keys.length !== 1 || !numeric) return [];
    const key = keys[0]!;
    const series: Series[] = cells.map((cell) => {
      const where = describe({
        ...(new Set(cells.map((c) => c.model)).size > 1 ? { model: cell.model } : {}),
        ...cell.sweep,
      });
      return {
        name: where ? `${optimizer} (${where})` : optimizer,
        points: cell.candidates
          .filter((d) => Number.isFinite(d.score))
          .map((d) => ({ x: d.tune[key] as number, y: d.score })),
      };
    });
    const chosen = cells
      .map((c) => (c.chosen ? describe(c.chosen.tune) : 'none (every value failed or diverged)'))
      .join('; ');
    const positive = series.every((s) => s.points.every((p) => p.y > 0));
    return [
      {
        kind: 'lines',
        id: `tuning-${optimizer}`,
        title: `Tuning ${optimizer}: ${metric} against ${key}`,
        caption: `Mean ${metric} over seeds at each value of the grid; the reports show the runs of the best value. Chosen: ${chosen}. Missing points failed or diverged.`,
        x: { label: key, log: true },
        y: { label: metric, log: positive },
        series,
      },
    ];
  });
}
