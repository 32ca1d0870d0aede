/**
 * Progress of an experiment from its events. On a terminal: a bar per running run and an
 * overall line, redrawn in place, with a permanent line as each run ends. Otherwise: plain
 * lines, at most one every few seconds per run. With --json: every event as a JSON line.
 * Runs show an ETA from their pace so far (steps per second since they started or resumed).
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

/** A remaining time, as round as its size: `40 s`, `3 min 20 s`, `2 h 05 min`. */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** No ETA before this much time or these many steps: the first steps' pace says little. */
const ETA_MIN_MS = 1000;
const ETA_MIN_STEPS = 2;

interface Active {
  index: number;
  label: string;
  step: number;
  steps: number;
  record?: MetricsRecord;
  lastPlain: number;
  /** Where the pace is measured from: the first progress after the run started or resumed. */
  since?: { step: number; at: number };
}

export interface ProgressOptions {
  json: boolean;
  /** The clock, in milliseconds (tests pass their own). */
  now?: () => number;
}

export function progressPrinter(io: CliIo, options: ProgressOptions): EventListener {
  if (options.json) return (event) => io.out(`${JSON.stringify(event)}\n`);
  const now = options.now ?? (() => performance.now());
  let total = 0;
  const active = new Map<string, Active>();
  const ended: RunResult[] = [];
  let drawn = 0;
  let lastDraw = 0;

  const bar = (a: Active) => {
    const filled = Math.round((BAR_WIDTH * a.step) / Math.max(1, a.steps));
    return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  };
  /** Milliseconds left at the run's pace so far, once that pace means something. */
  const remaining = (a: Active): number | undefined => {
    if (!a.since) return undefined;
    const steps = a.step - a.since.step;
    const elapsed = now() - a.since.at;
    if (steps < ETA_MIN_STEPS || elapsed < ETA_MIN_MS) return undefined;
    return ((a.steps - a.step) * elapsed) / steps;
  };
  const etaText = (ms: number | undefined) => (ms === undefined ? '' : `  ETA ${formatEta(ms)}`);
  const runLine = (a: Active) =>
    `[${a.index}/${total}] ${a.label} ${bar(a)} ${a.step}/${a.steps}${etaText(remaining(a))}${a.record ? `  ${formatRecord(a.record)}` : ''}`;
  const overall = () => {
    const failed = ended.filter((r) => r.status === 'failed').length;
    // The whole experiment's ETA once no run waits to start: the slowest running run's.
    const times = [...active.values()].map(remaining);
    const last =
      ended.length + active.size === total &&
      times.length > 0 &&
      times.every((t) => t !== undefined)
        ? Math.max(...(times as number[]))
        : undefined;
    return `[all] ${ended.length}/${total} done, ${active.size} running${failed ? `, ${failed} failed` : ''}${etaText(last)}`;
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
    lastDraw = now();
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
          lastPlain: now(),
        });
        if (!io.isTTY)
          say(`[${event.index + 1}/${total}] ${event.label}: ${event.steps} steps -> ${event.dir}`);
        else draw();
        break;
      case 'run-resumed': {
        const a = active.get(event.runId);
        if (a) {
          a.step = event.step;
          delete a.since; // the pace is measured from here, not from step 0
        }
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
        const t = now();
        a.since ??= { step: event.step, at: t };
        if (io.isTTY) {
          if (t - lastDraw > REDRAW_INTERVAL_MS) draw();
        } else if (t - a.lastPlain > PLAIN_INTERVAL_MS && event.step < event.steps) {
          if (a.record)
            say(
              `[${a.index}/${total}] ${a.label}: step ${a.record.step}  ${formatRecord(a.record)}${etaText(remaining(a))}`,
            );
          a.lastPlain = t;
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
