/**
 * A run's folder before training starts. A fresh run writes spec.json, run.json and an empty
 * metrics.jsonl; a resumed run rewinds its records to its checkpoint and notes the resumption
 * in run.json. Either way, what it returns is the analysis records kept so far.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { EventListener } from './events.js';
import type { AnalysisFile } from './experiment-data.js';
import { analysisFile } from './run-analyses.js';
import {
  readJson,
  readJsonFile,
  readJsonlFile,
  writeJsonAtomic,
  writeTextAtomic,
} from './run-directory.js';
import type { RunContext, RunTask } from './run-executor.js';
import type { PlannedRun } from './spec/expand.js';
import { runSpecToJson } from './spec/schema.js';

export type AnalysisRecords = Map<string, AnalysisFile['records']>;

/** Who the run is: the part of run.json that a resumption keeps. */
function runIdentity(plan: PlannedRun): Record<string, unknown> {
  return {
    id: plan.id,
    label: plan.label,
    group: plan.group,
    seed: plan.seed,
    model: plan.model,
    optimizer: plan.optimizer,
    sweep: plan.sweep,
    ...(plan.tune === undefined ? {} : { tune: plan.tune }),
  };
}

/** A new run's folder: its resolved spec, its identity and provenance, no metrics yet. */
export function createRunFolder(task: RunTask, ctx: RunContext): AnalysisRecords {
  const { plan, dir } = task;
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(join(dir, 'spec.json'), runSpecToJson(plan.spec));
  writeJsonAtomic(join(dir, 'run.json'), {
    ...runIdentity(plan),
    startedAt: new Date().toISOString(),
    specFile: ctx.specFile,
    backend: ctx.backend,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    pid: process.pid,

    ...(task.previousMovedTo ? { previousRunMovedTo: task.previousMovedTo } : {}),
  });
  writeTextAtomic(join(dir, 'metrics.jsonl'), '');
  return new Map();
}

/** A resumed run's folder: records rewound to the checkpoint at `step`, the resumption noted. */
export function resumeRunFolder(task: RunTask, emit: EventListener, step: number): AnalysisRecords {
  const { plan, dir } = task;
  const { id, label } = plan;
  const warn = (message: string) => emit({ type: 'warning', runId: id, label, message });
  const records = rewindRecords(dir, plan, step, warn);
  const info: Record<string, unknown> =
    readJson<Record<string, unknown>>(join(dir, 'run.json')) ?? runIdentity(plan);
  const resumptions = [
    ...((info.resumptions as unknown[]) ?? []),
    { step, at: new Date().toISOString() },
  ];
  writeJsonAtomic(join(dir, 'run.json'), { ...info, resumptions });
  emit({ type: 'run-resumed', runId: id, label, step, dir: task.reportDir ?? dir });
  return records;
}

/**
 * Rewinds the run's records to the checkpoint at `step`: records of later steps go (the resumed
 * run writes them again, identically); everything before stays byte for byte. A damaged line
 * of metrics.jsonl is kept as it is and reported: what was recorded is never rewritten from
 * what could be parsed. A damaged analysis file is moved aside (`.damaged-<time>`), not lost.
 */
function rewindRecords(
  dir: string,
  plan: PlannedRun,
  step: number,
  warn: (message: string) => void,
): AnalysisRecords {
  const metricsPath = join(dir, 'metrics.jsonl');
  const { lines, damaged, unterminated } = readJsonlFile(metricsPath, { requireStep: true });
  // A last line without its newline is an append a crash cut short. Appends come after the
  // checkpoint they follow, so its record is written again, whole, when the run resumes.
  const last = lines.at(-1);
  const cut = unterminated && last && !last.record ? last : undefined;
  for (const d of damaged)
    warn(
      d.line === cut?.line
        ? `${metricsPath}:${d.line}: an unfinished last line (an append cut short) is replaced by its record, computed again from the checkpoint at step ${step}`
        : `${metricsPath}:${d.line}: a damaged record (${d.reason}); it is kept as it is and the run resumes from its checkpoint at step ${step}`,
    );
  const kept = lines.filter((l) => l !== cut && (!l.record || (l.record.step as number) < step));
  writeTextAtomic(metricsPath, kept.map((l) => `${l.text}\n`).join(''));
  const analyses: AnalysisRecords = new Map();
  for (const ref of plan.spec.analyses) {
    const path = join(dir, 'analyses', `${ref.label}.json`);
    const file = readJsonFile<AnalysisFile>(path);
    let records: AnalysisFile['records'] = [];
    if (file && 'damaged' in file) {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      renameSync(path, `${path}.damaged-${stamp}`);
      warn(
        `${path} is damaged (${file.damaged}); it was moved to ${path}.damaged-${stamp} and the analysis records from step ${step} on are computed again`,
      );
    } else if (file && Array.isArray(file.value.records)) {
      records = file.value.records.filter((r) => r.step < step);
    }
    writeJsonAtomic(path, analysisFile(ref, records));
    analyses.set(ref.label, records);
  }
  return analyses;
}
