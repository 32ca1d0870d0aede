import { describe, expect, it } from 'vitest';
import { finalLossDistribution, groupSummaryTable, spread } from '../src/group-summary.js';
import type { SummaryRow } from '../src/summary-row.js';

const row = (group: string, seed: number, final: number | null, accuracy?: number): SummaryRow => ({
  id: `${group}-${seed}`,
  label: group,
  group,
  seed,
  status: final === null ? 'diverged' : 'completed',
  tuned: null,
  steps: 10,
  final_loss: final,
  final_eval_loss: final,
  best_loss: final,
  best_eval_loss: final,
  wall_time_s: 1,
  analyses: accuracy === undefined ? {} : { 'accuracy@0': 0.5, 'accuracy@10': accuracy },
  config: {},
});

describe('summaries over seeds', () => {
  it('computes mean, sample standard deviation, median and range of the finite values', () => {
    const s = spread([1, 2, 3, 10, null, Number.NaN])!;
    expect(s).toEqual({
      count: 4,
      mean: 4,
      std: Math.sqrt((9 + 4 + 1 + 36) / 3),
      median: 2.5,
      min: 1,
      max: 10,
    });
    expect(spread([null])).toBeUndefined();
  });

  it('tabulates each group once, with the last value of each analysis', () => {
    const rows = [
      row('softmax', 0, 0.1, 0.8),
      row('softmax', 1, 0.3, 0.9),
      row('gaussian', 0, 0.01, 0.95),
      row('gaussian', 1, null, 0.97),
    ];
    const html = groupSummaryTable(rows);
    expect(html.match(/<tr><td>softmax/g)).toHaveLength(1);
    expect(html).toContain('accuracy (last)');
    expect(html).toContain('0.2 ± 0.1414'); // softmax final loss
    expect(html).toContain('0.85 ± 0.07071'); // softmax accuracy at step 10, not step 0
    expect(html).toContain('0.01 ± 0'); // the diverged gaussian seed is left out
  });

  it('draws the final-loss distribution only with enough seeds, in log10', () => {
    const few = [0, 1, 2].map((s) => row('a', s, 10 ** -s));
    expect(finalLossDistribution(few)).toEqual([]);
    const many = [0, 1, 2, 3, 4].map((s) => row('a', s, 10 ** -s));
    const [figure] = finalLossDistribution(many);
    expect(figure?.kind).toBe('histogram');
    expect(figure?.kind === 'histogram' && figure.series[0]!.values).toEqual([0, -1, -2, -3, -4]);
  });
});
