/** Runs grouped over seeds: the mean and min–max band, and the loss figures built from them. */
import { describe, expect, it } from 'vitest';
import { groupRuns, groupSeries, type LinesFigure } from '@tdx/core';
import { lossFigures } from '../src/index.js';
import { experiment, run } from './support/data.js';

const lossOf = (r: ReturnType<typeof run>) =>
  r.metrics.flatMap((m) => (m.loss === null ? [] : [{ x: m.step, y: m.loss }]));

// Three seeds of `a` (one with a step whose loss was not finite), one run of `b`.
const runs = [
  run('a_s0', 'a', 0, [3, 2, 1]),
  run('a_s1', 'a', 1, [5, 2, null]),
  run('a_s2', 'a', 2, [4, 5, 1.5]),
  run('b', 'b', 0, [1, 1, 1]),
];

describe('groups of seeds', () => {
  it('gather runs by group, in the order they first appear', () => {
    expect(groupRuns(runs).map((g) => [g.name, g.runs.map((r) => r.seed)])).toEqual([
      ['a', [0, 1, 2]],
      ['b', [0]],
    ]);
  });

  it('give the mean over seeds and a band from the lowest to the highest', () => {
    const series = groupSeries(groupRuns(runs)[0]!, lossOf);
    // step 0: (3 + 5 + 4) / 3; step 10: (2 + 2 + 5) / 3; step 20: (1 + 1.5) / 2, seed 1 has none
    expect(series.points).toEqual([
      { x: 0, y: 4 },
      { x: 10, y: 3 },
      { x: 20, y: 1.25 },
    ]);
    expect(series.band).toEqual([
      { x: 0, lo: 3, hi: 5 },
      { x: 10, lo: 2, hi: 5 },
      { x: 20, lo: 1, hi: 1.5 },
    ]);
  });

  it('give a single run its own curve, without a band', () => {
    const series = groupSeries(groupRuns(runs)[1]!, lossOf);
    expect(series.points.map((p) => p.y)).toEqual([1, 1, 1]);
    expect(series.band).toBeUndefined();
  });
});

describe('loss figures', () => {
  it('draw training and evaluation loss per group on a log scale, saying how many seeds', () => {
    const [loss, evalLoss, ...rest] = lossFigures(experiment(runs)) as LinesFigure[];
    expect(rest).toEqual([]);
    expect(loss).toMatchObject({ id: 'loss', y: { log: true }, x: { label: 'step' } });
    expect(loss!.series.map((s) => s.name)).toEqual(['a', 'b']);
    expect(loss!.caption).toContain('a: 3, b: 1');
    expect(evalLoss!.id).toBe('eval-loss');
    expect(evalLoss!.series[0]!.points[0]!.y).toBeCloseTo(4 * 1.1, 12);
  });

  it('say "n seeds" when every group has the same number', () => {
    const [loss] = lossFigures(experiment(runs.slice(0, 3)));
    expect(loss!.caption).toContain('mean over 3 seeds');
    expect(lossFigures(experiment(runs.slice(3)))[0]!.caption).toContain('One run per line');
  });

  it('leave out evaluation loss when no run has one', () => {
    const noEval = runs.map((r) => ({
      ...r,
      metrics: r.metrics.map(({ evalLoss: _evalLoss, ...m }) => m),
    }));
    expect(lossFigures(experiment(noEval)).map((f) => f.id)).toEqual(['loss']);
  });

  it('are none for an experiment without runs', () => {
    expect(lossFigures(experiment([]))).toEqual([]);
  });
});
