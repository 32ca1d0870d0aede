/** summary.csv: one row per run, RFC 4180, numbers in full precision. */
import type { RunData } from '@tdx/core';
import { summaryRow, type SummaryRow } from './summary-row.js';

export const OUTCOME_COLUMNS = [
  'id',
  'label',
  'group',
  'seed',
  'status',
  'steps',
  'final_loss',
  'final_eval_loss',
  'best_loss',
  'best_eval_loss',
  'wall_time_s',
] as const;

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

export function summaryCsv(runs: readonly RunData[]): string {
  const rows = runs.map(summaryRow);
  const columns = configColumns(rows);
  const lines = [
    [...OUTCOME_COLUMNS, ...columns].map(csvField).join(','),
    ...rows.map((row) =>
      [...OUTCOME_COLUMNS.map((k) => row[k]), ...columns.map((c) => row.config[c])]
        .map(csvField)
        .join(','),
    ),
  ];
  // RFC 4180 ends every record, the last included, with CRLF.
  return `${lines.join('\r\n')}\r\n`;
}
