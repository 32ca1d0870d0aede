/** summary.csv: one row per run, RFC 4180, numbers in full precision. */
import type { ExperimentData } from '@tdx/core';
import { summaryRow, type SummaryRow } from './summary-row.js';
import { tuneStatuses } from './tuning.js';

export const OUTCOME_COLUMNS = [
  'id',
  'label',
  'group',
  'seed',
  'status',
  'tuned',
  'steps',
  'final_loss',
  'final_eval_loss',
  'best_loss',
  'best_eval_loss',
  'wall_time_s',
] as const;

/** Analysis columns (`<label>@<step>`): the union over runs, in the order they first appear. */
export function analysisColumns(rows: readonly SummaryRow[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r.analyses)))];
}

/** Config columns: the union over runs, in the order they first appear. */
export function configColumns(rows: readonly SummaryRow[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r.config)))];
}

/**
 * One field: empty for a missing value; quoted, with quotes doubled, when it holds a comma,
 * a quote or a line break. String(number) is the shortest text that reads back as the same
 * double, so nothing is rounded.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function summaryCsv(data: Pick<ExperimentData, 'runs' | 'spec'>): string {
  const tuned = tuneStatuses(data as ExperimentData);
  const rows = data.runs.map((run) => summaryRow(run, tuned.get(run.id) ?? null));
  const analyses = analysisColumns(rows);
  const columns = configColumns(rows);
  const lines = [
    [...OUTCOME_COLUMNS, ...analyses, ...columns].map(csvField).join(','),
    ...rows.map((row) =>
      [
        ...OUTCOME_COLUMNS.map((k) => row[k]),
        ...analyses.map((c) => row.analyses[c]),
        ...columns.map((c) => row.config[c]),
      ]
        .map(csvField)
        .join(','),
    ),
  ];
  // RFC 4180 ends every record, the last included, with CRLF.
  return `${lines.join('\r\n')}\r\n`;
}
