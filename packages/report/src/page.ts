/**
 * The report page: self-contained HTML (inline CSS, inline SVG figures, no scripts, no URLs).
 * Every piece of text from the data goes through escapeHtml; the SVGs are Vega's, which
 * escapes the text it draws.
 */
import type { BackendInfo, ExperimentData, ReportSection } from '@tdx/core';
import type { RenderedFigure } from './experiment-figures.js';
import { groupSummaryTable, hasSeedGroups } from './group-summary.js';
import { escapeHtml, formatNumber } from './html.js';

import { PAGE_STYLE } from './page-style.js';
import { analysisColumns } from './summary-csv.js';
import { summaryRow, type SummaryRow } from './summary-row.js';
import { tuneStatuses } from './tuning.js';

/** A reporter's section (see ReportSection), its figures rendered. */
export interface RenderedSection extends Omit<ReportSection, 'figures'> {
  figures: RenderedFigure[];
}

export interface PageOptions {
  /** Sections the experiment's other reporters contribute, shown after the runs. */
  sections?: readonly RenderedSection[];
  /** The page's heading; the experiment's name when not given. */
  title?: string;
  /** When the report was generated (shown as given). */
  generatedAt: string;
}

/** "cpu (threads 4, simd true)", or "unknown" for an experiment without a recorded backend. */
function backendText(backend: BackendInfo | undefined): string {
  if (!backend) return 'unknown';
  const details = Object.entries(backend.details ?? {}).map(([k, v]) => `${k} ${String(v)}`);
  return details.length > 0 ? `${backend.name} (${details.join(', ')})` : backend.name;
}

function runsTable(rows: readonly SummaryRow[]): string {
  const num = (text: string) => `<td class="num">${text}</td>`;
  // Analyses' values at their first and last step: JS⁰ at initialisation and after training.
  const analyses = analysisColumns(rows);
  const body = rows.map(
    (r) =>
      `<tr><td>${escapeHtml(r.label)}${r.tuned === 'chosen' ? ' <span class="chosen" title="the value chosen by tuning">★</span>' : ''}</td><td class="status-${escapeHtml(r.status)}">${escapeHtml(r.status)}</td>` +
      num(r.steps === null ? '–' : String(r.steps)) +
      num(formatNumber(r.final_loss)) +
      num(formatNumber(r.final_eval_loss)) +
      num(formatNumber(r.best_eval_loss)) +
      analyses.map((c) => num(formatNumber(r.analyses[c] ?? null))).join('') +
      num(r.wall_time_s === null ? '–' : r.wall_time_s.toFixed(1)) +
      '</tr>',
  );
  const head = [
    'run',
    'status',
    'steps',
    'final loss',
    'final eval loss',
    'best eval loss',
    ...analyses.map(escapeHtml),
    'wall time (s)',
  ];
  return (
    `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>` +
    `<tbody>\n${body.join('\n')}\n</tbody></table>`
  );
}

function sectionHtml(section: RenderedSection): string {
  const paragraphs = (section.paragraphs ?? []).map((p) => `<p>${escapeHtml(p)}</p>`);
  const cell = (c: string | number | null) =>
    typeof c === 'number' || c === null
      ? `<td class="num">${formatNumber(c)}</td>`
      : `<td>${escapeHtml(c)}</td>`;
  const table = section.table
    ? `<table><thead><tr>${section.table.columns.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
      `<tbody>\n${section.table.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n')}\n</tbody></table>`
    : '';
  return [
    `<h2>${escapeHtml(section.title)}</h2>`,
    ...paragraphs,
    table,
    ...section.figures.map(figureHtml),
  ]
    .filter(Boolean)
    .join('\n');
}

function figureHtml({ figure, svg, error }: RenderedFigure): string {
  const content =
    svg ??
    `<p class="notice">The figure “${escapeHtml(figure.title)}” could not be drawn: ${escapeHtml(error)}</p>`;
  const caption = figure.caption ? `<figcaption>${escapeHtml(figure.caption)}</figcaption>` : '';
  return `<figure id="figure-${escapeHtml(figure.id)}">${content}${caption}</figure>`;
}

/** Notices for a report that is not the whole story yet: no runs, or runs still to finish. */
function notices(rows: readonly SummaryRow[]): string[] {
  if (rows.length === 0) return ['<p class="notice">This experiment has no runs yet.</p>'];
  const unfinished = rows.filter((r) => r.status === 'unfinished' || r.status === 'interrupted');
  if (unfinished.length === 0) return [];
  return [
    `<p class="notice">${unfinished.length} of ${rows.length} run(s) have not finished: ` +
      'the figures show what they logged so far, and running the spec again resumes them.</p>',
  ];
}

/** A notice listing the records that could not be read (damaged lines, damaged files). */
function unreadableNotice(data: ExperimentData): string {
  const items = data.runs.flatMap((run) =>
    (run.unreadable ?? []).map(
      (u) => `${u.file}${u.line === undefined ? '' : `:${u.line}`}: ${u.reason}`,
    ),
  );
  if (items.length === 0) return '';
  return (
    `<p class="notice">${items.length} record(s) could not be read and are left out of the ` +
    `tables and figures:</p><ul class="notice">${items.map((i) => `<li><code>${escapeHtml(i)}</code></li>`).join('')}</ul>`
  );
}

export function reportPage(
  data: ExperimentData,
  figures: readonly RenderedFigure[],
  options: PageOptions,
): string {
  const title = options.title ?? data.name;
  const description = typeof data.spec.description === 'string' ? data.spec.description : '';
  const tuned = tuneStatuses(data);
  const rows = data.runs.map((run) => summaryRow(run, tuned.get(run.id) ?? null));
  const meta = [
    `Generated ${escapeHtml(options.generatedAt)}`,
    `backend ${escapeHtml(backendText(data.backend))}`,
    `${rows.length} run(s)`,
    `folder <code>${escapeHtml(data.dir)}</code>`,
  ].join(' · ');
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    description ? `<p class="description">${escapeHtml(description)}</p>` : '',
    `<p class="meta">${meta}</p>`,
    ...notices(rows),
    unreadableNotice(data),
    rows.length > 0 ? `<h2>Runs</h2>${runsTable(rows)}` : '',
    hasSeedGroups(rows) ? `<h2>Over seeds</h2>${groupSummaryTable(rows)}` : '',
    ...(options.sections ?? []).map(sectionHtml),
    figures.length > 0 ? '<h2>Figures</h2>' : '',
    ...figures.map(figureHtml),
    '<h2>Spec</h2>',
    // Collapsed: the resolved spec is long, and most readers want the figures above it.
    `<details><summary>The experiment as resolved, every default filled in (<code>experiment.json</code>)</summary>`,
    `<pre>${escapeHtml(JSON.stringify(data.spec, null, 2))}</pre></details>`,
  ].filter(Boolean);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · tdx report</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
