/**
 * Outcomes per run group, over its seeds: what a comparison over seeds is read from (softmax
 * against Gaussian attention over ten initialisations, say). Mean ± standard deviation, median
 * and range of the final losses and of each analysis's last value; diverged or unfinished
 * runs are counted apart, not averaged in.
 */
import type { FigureSpec } from '@tdx/core';
import { escapeHtml, formatNumber } from './html.js';
import { analysisColumns } from './summary-csv.js';
import type { SummaryRow } from './summary-row.js';

export interface Spread {
  count: number;
  mean: number;
  std: number;
  median: number;
  min: number;
  max: number;
}

/** Spread of the finite values; undefined when there are none. */
export function spread(values: ReadonlyArray<number | null>): Spread | undefined {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance =
    xs.length > 1 ? xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1) : 0;
  const mid = sorted.length >> 1;
  return {
    count: xs.length,
    mean,
    std: Math.sqrt(variance),
    median: sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
    min: sorted[0]!,
    max: sorted.at(-1)!,
  };
}

/** Rows by group, in the order groups first appear. */
function byGroup(rows: readonly SummaryRow[]): Array<[string, SummaryRow[]]> {
  const groups = new Map<string, SummaryRow[]>();
  for (const row of rows) groups.set(row.group, [...(groups.get(row.group) ?? []), row]);
  return [...groups];
}

/** Whether any group repeats over seeds (only then is a per-group summary worth a table). */
export function hasSeedGroups(rows: readonly SummaryRow[]): boolean {
  return byGroup(rows).some(([, members]) => members.length > 1);
}

/** The HTML table: one row per group, one cell per measure. */
export function groupSummaryTable(rows: readonly SummaryRow[]): string {
  // The last value of each analysis (`<label>@<last step>`), as a column per analysis label.
  const lastColumns = new Map<string, string[]>();
  for (const column of analysisColumns(rows)) {
    const label = column.slice(0, column.lastIndexOf('@'));
    lastColumns.set(label, [...(lastColumns.get(label) ?? []), column]);
  }
  const lastValue = (row: SummaryRow, columns: string[]): number | null => {
    const present = columns.filter(
      (c) => row.analyses[c] !== undefined && row.analyses[c] !== null,
    );
    const step = (c: string) => Number(c.slice(c.lastIndexOf('@') + 1));
    const last = present.sort((a, b) => step(a) - step(b)).at(-1);
    return last === undefined ? null : row.analyses[last]!;
  };
  const cell = (s: Spread | undefined) =>
    s === undefined
      ? '<td class="num">–</td>'
      : `<td class="num" title="median ${formatNumber(s.median)}, range ${formatNumber(s.min)} – ${formatNumber(s.max)}">` +
        `${formatNumber(s.mean)} ± ${formatNumber(s.std)}<br><small>${formatNumber(s.median)} [${formatNumber(s.min)}, ${formatNumber(s.max)}]</small></td>`;
  const body = byGroup(rows).map(([group, members]) => {
    const completed = members.filter((r) => r.status === 'completed').length;
    return (
      `<tr><td>${escapeHtml(group)}</td><td class="num">${members.length}</td><td class="num">${completed}</td>` +
      cell(spread(members.map((r) => r.final_loss))) +
      cell(spread(members.map((r) => r.final_eval_loss))) +
      [...lastColumns.values()]
        .map((cols) => cell(spread(members.map((r) => lastValue(r, cols)))))
        .join('') +
      '</tr>'
    );
  });
  const head = [
    'group',
    'runs',
    'completed',
    'final loss',
    'final eval loss',
    ...[...lastColumns.keys()].map((label) => `${escapeHtml(label)} (last)`),
  ];
  return (
    '<p>Each cell: mean ± standard deviation over the group’s runs, then median [min, max]. ' +
    'Runs without a finite value (diverged, unfinished) are left out of the cell.</p>' +
    `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>` +
    `<tbody>\n${body.join('\n')}\n</tbody></table>`
  );
}

/**
 * The distribution of final losses over seeds, per group, as histograms of log10 (losses of
 * different runs span decades): drawn when some group has at least `minimum` runs.
 */
export function finalLossDistribution(rows: readonly SummaryRow[], minimum = 5): FigureSpec[] {
  const groups = byGroup(rows);
  if (!groups.some(([, members]) => members.length >= minimum)) return [];
  const field = rows.some((r) => r.final_eval_loss !== null) ? 'final_eval_loss' : 'final_loss';
  const series = groups.map(([name, members]) => ({
    name,
    values: members
      .map((r) => r[field])
      .filter((v): v is number => v !== null && Number.isFinite(v) && v > 0)
      .map((v) => Math.log10(v)),
  }));
  return [
    {
      kind: 'histogram',
      id: 'final-loss-distribution',
      title: `Distribution of the ${field === 'final_eval_loss' ? 'final evaluation' : 'final training'} loss over seeds`,
      caption:
        'Each run contributes one count: log10 of its last logged loss. Runs that diverged are not drawn.',
      x: { label: `log10 ${field === 'final_eval_loss' ? 'final evaluation loss' : 'final loss'}` },
      series,
      bins: 20,
    },
  ];
}
