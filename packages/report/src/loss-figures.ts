/** Training and evaluation loss against step, one line per run group (log scale). */
import {
  groupRuns,
  groupSeries,
  seedsCaption,
  type ExperimentData,
  type FigureSpec,
  type Point,
  type RunData,
} from '@tdx/core';

/** A run's curve of one metric; steps where it was not finite (null) are left out. */
const curve =
  (field: 'loss' | 'evalLoss') =>
  (run: RunData): Point[] =>
    run.metrics.flatMap((m) => {
      const y = m[field];
      return typeof y === 'number' ? [{ x: m.step, y }] : [];
    });

export function lossFigures(data: ExperimentData): FigureSpec[] {
  const groups = groupRuns(data.runs);
  if (groups.length === 0) return [];
  const seeds = seedsCaption(groups);
  const figures: FigureSpec[] = [
    {
      kind: 'lines',
      id: 'loss',
      title: 'Training loss',
      caption: `Loss of each step's training batch, before the update. ${seeds}`,
      x: { label: 'step' },
      y: { label: 'loss', log: true },
      series: groups.map((g) => groupSeries(g, curve('loss'))),
    },
  ];
  if (data.runs.some((r) => curve('evalLoss')(r).length > 0)) {
    figures.push({
      kind: 'lines',
      id: 'eval-loss',
      title: 'Evaluation loss',
      caption: `Loss on the dataset's fixed evaluation batch. ${seeds}`,
      x: { label: 'step' },
      y: { label: 'evaluation loss', log: true },
      series: groups.map((g) => groupSeries(g, curve('evalLoss'))),
    });
  }
  return figures;
}
