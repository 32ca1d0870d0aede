/**
 * Progress of an experiment from its events. On a terminal: a bar per running run and an
 * overall line, redrawn in place, with a permanent line as each run ends. Otherwise: plain
 * lines, at most one every few seconds per run. With --json: every event as a JSON line.
 */
import type { EventListener, ExperimentEvent, MetricsRecord, RunResult } from '@tdx/core';
import type { CliIo } from './io.js';

const PLAIN_INTERVAL_MS = 5000;
const REDRAW_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

function formatNumber(x: unknown): string {
  if (typeof x !== 'number') return String(x);
  if (x === 0) return '0';
  const abs = Math.abs(x);
  return abs >= 1e4 || abs < 1e-3 ? x.toExponential(3) : x.toPrecision(4);
}

function formatRecord(record: MetricsRecord): string {
  return (
    Object.entries(record)
      // Of the optimizer's numbers only τ: the rest (lr, λ, step sizes) is in metrics.jsonl.
      .filter(
        ([k, v]) =>
          k !== 'step' &&
          k !== 'optimizer' &&
          v !== undefined &&
          (!k.startsWith('optimizer.') || k === 'optimizer.tau'),
      )

      .map(([k, v]) => `${k} ${formatNumber(v)}`)
      .join('  ')
  );
}

function seconds(ms: number): string {
  return ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

interface Active {
  index: number;
  label: string;
  step: number;
  steps: number;
  record?: MetricsRecord;
  lastPlain: number;
}

export function progressPrinter(io: CliIo, options: { json: boolean }): EventListener {
  if (options.json) return (event) => io.out(`${JSON.stringify(event)}\n`);
  let total = 0;
  const active = new Map<string, Active>();
  const ended: RunResult[] = [];
  let drawn = 0;
  let lastDraw = 0;

  const bar = (a: Active) => {
    const filled = Math.round((BAR_WIDTH * a.step) / Math.max(1, a.steps));
    return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  };
  const runLine = (a: Active) =>
    `[${a.index}/${total}] ${a.label} ${bar(a)} ${a.step}/${a.steps}${a.record ? `  ${formatRecord(a.record)}` : ''}`;
  const overall = () => {
    const failed = ended.filter((r) => r.status === 'failed').length;
    return `[all] ${ended.length}/${total} done, ${active.size} running${failed ? `, ${failed} failed` : ''}`;
  };
  /** Terminal only: removes the live block so a permanent line can be printed above it. */
  const erase = () => {
    if (drawn > 0) io.err(`\x1b[${drawn}A\r\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    const lines = [
      ...[...active.values()].sort((a, b) => a.index - b.index).map(runLine),
      overall(),
    ];
    erase();
    io.err(`${lines.join('\n')}\n`);
    drawn = lines.length;
    lastDraw = performance.now();
  };
  /** A line that stays: on a terminal it goes above the live block. */
  const say = (text: string) => {
    if (io.isTTY) {
      erase();
      io.err(`${text}\n`);
      if (active.size > 0) draw();
    } else io.err(`${text}\n`);
  };

  return (event: ExperimentEvent) => {
    switch (event.type) {
      case 'experiment-start': {
        total = event.runs.length;
        const details = event.backend.details
          ? ` (${Object.entries(event.backend.details)
              .map(([k, v]) => `${k} ${String(v)}`)
              .join(', ')})`
          : '';
        const workers = event.workers > 1 ? `, ${event.workers} at once` : '';
        say(
          `tdx: ${event.name}: ${total} run(s) on ${event.backend.name}${details}${workers}\n      results in ${event.dir}`,
        );
        break;
      }
      case 'run-start':
        active.set(event.runId, {
          index: event.index + 1,
          label: event.label,
          step: 0,
          steps: event.steps,
          lastPlain: performance.now(),
        });
        if (!io.isTTY)
          say(`[${event.index + 1}/${total}] ${event.label}: ${event.steps} steps -> ${event.dir}`);
        else draw();
        break;
      case 'run-resumed': {
        const a = active.get(event.runId);
        if (a) a.step = event.step;
        say(
          `[${a?.index ?? '?'}/${total}] ${event.label}: resuming from its checkpoint at step ${event.step}`,
        );
        break;
      }
      case 'run-skipped':
        ended.push({
          id: event.runId,
          label: event.label,
          dir: event.dir,
          status: 'skipped',
          steps: 0,
          wallMs: 0,
        });
        say(
          `[skip] ${event.label}: ${event.reason} (${event.dir}); pass ${event.status === 'diverged' ? '--rerun-diverged' : '--rerun'} to run it again`,
        );
        break;
      case 'run-waiting':
        say(
          `[wait] ${event.label}: held by ${event.holder}; waiting for it, then skipping it if it finished`,
        );
        break;
      case 'warning':
        say(`tdx: warning${event.label ? ` (${event.label})` : ''}: ${event.message}`);
        break;
      case 'metrics': {
        const a = active.get(event.runId);
        if (a) a.record = event.record;
        break;
      }
      case 'progress': {
        const a = active.get(event.runId);
        if (!a) break;
        a.step = event.step;
        const now = performance.now();
        if (io.isTTY) {
          if (now - lastDraw > REDRAW_INTERVAL_MS) draw();
        } else if (now - a.lastPlain > PLAIN_INTERVAL_MS && event.step < event.steps) {
          if (a.record)
            say(
              `[${a.index}/${total}] ${a.label}: step ${a.record.step}  ${formatRecord(a.record)}`,
            );
          a.lastPlain = now;
        }
        break;
      }
      case 'run-end': {
        const a = active.get(event.runId);
        active.delete(event.runId);
        const r = event.result;
        ended.push(r);
        const summary =
          r.status === 'failed'
            ? `FAILED after ${r.steps} steps: ${r.error}`
            : r.status === 'interrupted'
              ? `stopped at step ${r.steps} (checkpoint saved)`
              : r.status === 'diverged' && r.divergence
                ? `DIVERGED at step ${r.divergence.step}: ${r.divergence.quantity} ${r.divergence.value}` +
                  (r.divergence.lastFiniteStep === undefined
                    ? ''
                    : ` (last finite: ${formatNumber(r.divergence.lastFiniteLoss)} at step ${r.divergence.lastFiniteStep})`) +
                  ` after ${seconds(r.wallMs)}`
                : `${r.status} in ${seconds(r.wallMs)}${a?.record ? `: ${formatRecord(a.record)}` : ''}`;
        say(`[${a?.index ?? '?'}/${total}] ${r.label}: ${summary}`);
        break;
      }
      case 'reports':
        say(`tdx: reports: ${event.files.filter((f) => !f.includes('/figures/')).join(', ')}`);
        break;
      case 'experiment-end': {
        if (io.isTTY) erase();
        const runs = event.result.runs;
        const count = (status: string) => runs.filter((r) => r.status === status).length;
        const notes = [
          count('failed') ? `${count('failed')} failed` : '',
          count('diverged') ? `${count('diverged')} diverged` : '',
          count('interrupted') ? `${count('interrupted')} interrupted` : '',
          count('skipped') ? `${count('skipped')} already done` : '',
        ].filter(Boolean);
        io.err(
          `tdx: done: ${runs.length} run(s)${notes.length ? `, ${notes.join(', ')}` : ''}; results in ${event.result.dir}\n`,
        );
        break;
      }
      default:
        break;
    }
  };
}
