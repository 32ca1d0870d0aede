/**
 * One run, from the start or from its checkpoint, in this process. The same function runs in
 * the parent (one worker) and in worker processes (several).
 *
 *   <run dir>/spec.json       the run's resolved spec (valid input again)
 *             run.json        identity and provenance: label, group, seed, sweep, backend, resumptions
 *             metrics.jsonl   one record per logged state, appended line by line
 *             analyses/*.json every evaluation of each analysis
 *             checkpoints/latest.json  the state to continue from
 *             result.json     written last: status and final numbers (error.json too on failure)
 */
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint, type StoredCheckpoint } from './checkpoint.js';
import type { BackendInfo, TrainingSession } from './contracts.js';
import { TdxError, isTdxError } from './errors.js';
import type { AnalysisFile } from './experiment-data.js';
import type { Divergence, EventListener, MetricsRecord, RunResult } from './events.js';
import type { Registry } from './registry.js';
import {
  JsonlWriter,
  readJson,
  readJsonFile,
  readJsonlFile,
  writeJsonAtomic,
  writeTextAtomic,
} from './run-directory.js';

import { evaluateAnalysis } from './analysis-evaluation.js';
import {
  openAnalysisPool,
  type AnalysisPool,
  type AnalysisWorkerSetup,
} from './pool/analysis-pool.js';
import { createRunParts, startSession } from './run-parts.js';
import { scheduledSteps } from './schedule.js';
import { deriveSeed } from './seeds.js';
import type { PlannedRun } from './spec/expand.js';
import { runSpecToJson, type ResolvedAnalysisRef } from './spec/schema.js';

export interface CheckpointPolicy {
  /** Save every this many updates (in addition to the time rule). */
  everySteps?: number;
  /** Save when this much time has passed since the last save (default 60 s). */
  everySeconds?: number;
}

export interface RunTask {
  plan: PlannedRun;
  dir: string;
  index: number;
  total: number;
  /** `resume` continues from the run's checkpoint; `fresh` starts in a new folder. */
  mode: 'fresh' | 'resume';
  /** Where an earlier folder of this run was moved, when it was. */
  previousMovedTo?: string;
  /**
   * The folder the run's results are reported as being in (result.json's `dir`, the events),
   * when its files are written to `dir` first and copied there afterwards: a run executed in a
   * scratch folder on another machine, say. Default: `dir`.
   */
  reportDir?: string;
}

export interface RunContext {
  /** Registry with the spec's plugins loaded. */
  registry: Registry;
  backend: BackendInfo;
  emit: EventListener;
  checkpoint: CheckpointPolicy;
  /** Polled between steps: true asks the run to save a checkpoint and stop. */
  shouldStop: () => boolean;
  specFile?: string;
  /** Worker processes for analyses that split into parts (absent: every analysis in process). */
  analysisWorkers?: AnalysisWorkerSetup;
}

/** A failed run's result, plus the error when the input was at fault (the experiment stops). */
export type ExecutedRun = RunResult & { fatal?: TdxError };

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

function analysisFile(ref: ResolvedAnalysisRef, records: AnalysisFile['records']): AnalysisFile {
  return {
    analysis: ref.name,
    label: ref.label,
    config: ref.config,
    ...(ref.every === undefined ? {} : { every: ref.every }),
    ...(ref.at === undefined ? {} : { at: ref.at }),
    records,
  };
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
): Map<string, AnalysisFile['records']> {
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
  const analyses = new Map<string, AnalysisFile['records']>();
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

function writeJsonlAtomic(path: string, records: Array<Record<string, unknown>>): void {
  writeTextAtomic(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Writes what a failed run leaves; a write that fails too (a full disk) is said, not thrown. */
function recordFailure(dir: string, result: RunResult, error: unknown): RunResult {
  const notes: string[] = [];
  const attempt = (what: string, write: () => void) => {
    try {
      write();
    } catch {
      notes.push(what);
    }
  };
  attempt('error.json', () => {
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(join(dir, 'error.json'), {
      message: result.error,
      ...(isTdxError(error)
        ? { code: error.code, problems: error.problems, hint: error.hint }
        : {}),
      stack: error instanceof Error ? error.stack : undefined,
    });
  });
  attempt('result.json', () => writeJsonAtomic(join(dir, 'result.json'), result));
  return notes.length === 0
    ? result
    : { ...result, error: `${result.error} (${notes.join(' and ')} could not be written either)` };
}

/** Lets signals, IPC and progress output through between synchronous training steps. */
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function executeRun(task: RunTask, ctx: RunContext): Promise<ExecutedRun> {
  const { plan, dir } = task;
  const shownDir = task.reportDir ?? dir;
  const { spec, id, label } = plan;
  const { emit } = ctx;
  const started = performance.now();
  const steps = spec.train.steps;
  let session: TrainingSession | undefined;
  // Started when an analysis first splits into parts; null when that is not possible.
  let pool: AnalysisPool | null | undefined;
  let metrics: JsonlWriter | undefined;
  let completed = 0;
  let resumedFrom: number | undefined;
  let finalLoss: number | undefined;
  let finalEvalLoss: number | undefined;
  let lastFinite: { step: number; loss: number } | undefined;
  let divergence: Divergence | undefined;
  let status: RunResult['status'] = 'completed';
  const warn = (message: string) => emit({ type: 'warning', runId: id, label, message });

  emit({
    type: 'run-start',
    runId: id,
    label,
    index: task.index,
    total: task.total,
    steps,
    dir: shownDir,
  });
  try {
    let checkpoint: StoredCheckpoint | undefined;
    let records = new Map<string, AnalysisFile['records']>();
    if (task.mode === 'resume') {
      // Reading first: a damaged checkpoint fails the run before anything on disk changes.
      checkpoint = readCheckpoint(dir, id);
    }
    const identity = {
      id,
      label,
      group: plan.group,
      seed: plan.seed,
      model: plan.model,
      optimizer: plan.optimizer,
      sweep: plan.sweep,
      ...(plan.tune === undefined ? {} : { tune: plan.tune }),
    };

    if (checkpoint) {
      resumedFrom = checkpoint.step;
      completed = checkpoint.step;
      records = rewindRecords(dir, plan, checkpoint.step, warn);
      const info: Record<string, unknown> =
        readJson<Record<string, unknown>>(join(dir, 'run.json')) ?? identity;

      const resumptions = [
        ...((info.resumptions as unknown[]) ?? []),
        { step: checkpoint.step, at: new Date().toISOString() },
      ];
      writeJsonAtomic(join(dir, 'run.json'), { ...info, resumptions });
      emit({ type: 'run-resumed', runId: id, label, step: checkpoint.step, dir: shownDir });
    } else {
      mkdirSync(dir, { recursive: true });
      writeJsonAtomic(join(dir, 'spec.json'), runSpecToJson(spec));
      writeJsonAtomic(join(dir, 'run.json'), {
        ...identity,
        startedAt: new Date().toISOString(),
        specFile: ctx.specFile,
        backend: ctx.backend,
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        pid: process.pid,

        ...(task.previousMovedTo ? { previousRunMovedTo: task.previousMovedTo } : {}),
      });
      writeJsonlAtomic(join(dir, 'metrics.jsonl'), []);
    }

    // Each run gets its own child registry: nothing it creates or registers leaks.
    const parts = createRunParts(spec, ctx.registry.child());
    const analyses = spec.analyses.map((ref, i) => ({
      ref,
      index: i,
      instance: parts.analyses[i]!,
      due: scheduledSteps(ref, steps),
      records: records.get(ref.label) ?? [],
    }));
    session = await startSession(spec, parts, parts.optimizer());
    if (checkpoint) {
      if (!session.restore)
        throw new TdxError(
          'PLUGIN_CONTRACT',
          `trainer "${spec.trainer.name}" cannot restore checkpoints`,
        );
      session.restore(checkpoint, checkpoint.step);
    }

    metrics = new JsonlWriter(join(dir, 'metrics.jsonl'));
    const logged = scheduledSteps({ every: spec.train.logEvery }, steps);
    const start = checkpoint?.step ?? 0;
    const everySeconds = (ctx.checkpoint.everySeconds ?? 60) * 1000;
    let lastSave = { step: start, time: performance.now() };
    let lastYield = performance.now();
    let lastProgress = 0;
    const save = (t: number) => {
      if (!session?.checkpoint) return;
      writeCheckpoint(dir, { ...session.checkpoint(), step: t, runId: id });
      lastSave = { step: t, time: performance.now() };
      emit({ type: 'checkpoint', runId: id, label, step: t });
    };
    for (let t = start; t <= steps; t++) {
      if (t > lastSave.step) {
        const dueBySteps =
          ctx.checkpoint.everySteps !== undefined && t - lastSave.step >= ctx.checkpoint.everySteps;
        if (dueBySteps || performance.now() - lastSave.time >= everySeconds) save(t);
      }
      if (ctx.shouldStop()) {
        if (t > lastSave.step || !session.checkpoint) save(t);
        status = 'interrupted';
        break;
      }
      const due = analyses.filter((a) => a.due.has(t));
      const logging = logged.has(t) || due.length > 0;
      const values: Record<string, number> = {};
      let evalLoss: number | undefined;
      if (logging) {
        for (const a of due) {
          const actx = { step: t, seed: deriveSeed(spec.seed, 'analysis', a.ref.label, t) };
          const { output, split } = await evaluateAnalysis(
            a.instance,
            a.index,
            session.target(),
            actx,
            () =>
              (pool ??= ctx.analysisWorkers ? openAnalysisPool(ctx.analysisWorkers, spec) : null),
          );
          if (output.value !== undefined) values[a.ref.label] = output.value;
          a.records.push({
            step: t,
            ...(output.value === undefined ? {} : { value: output.value }),
            ...output.data,
          });
          writeJsonAtomic(
            join(dir, 'analyses', `${a.ref.label}.json`),
            analysisFile(a.ref, a.records),
          );
          emit({
            type: 'analysis',
            runId: id,
            label,
            analysis: a.ref.label,
            step: t,
            ...(output.value === undefined ? {} : { value: output.value }),
            ...split,
          });
        }
        evalLoss = session.evalLoss();
      }
      // The optimizer's numbers describe the state the loss is measured at: before update t.
      const optimizerMetrics = logging ? (session.metrics?.() ?? {}) : {};
      const loss = t < steps ? session.step(t) : session.loss(t);
      if (t < steps) completed = t + 1;
      const diverged = !Number.isFinite(loss);
      if (diverged)
        divergence = {
          step: t,
          quantity: 'loss',
          value: String(loss),
          ...(lastFinite
            ? { lastFiniteLoss: lastFinite.loss, lastFiniteStep: lastFinite.step }
            : {}),
        };
      else lastFinite = { step: t, loss };
      // The step where the loss stops being finite is always recorded, logged step or not.
      if (logging || diverged) {
        const numbers: Record<string, number> = {
          loss,
          ...(evalLoss === undefined ? {} : { evalLoss }),
          ...Object.fromEntries(
            Object.entries(optimizerMetrics).map(([k, v]) => [`optimizer.${k}`, v]),
          ),
          ...values,
        };
        const nonFinite = Object.entries(numbers)
          .filter(([, v]) => !Number.isFinite(v))
          .map(([k, v]) => `${k}=${String(v)}`);
        const record: MetricsRecord = {
          step: t,
          optimizer: plan.optimizer,
          ...Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, finiteOrNull(v)])),
          loss: finiteOrNull(loss),
          ...(nonFinite.length > 0 ? { nonFinite: nonFinite.join(',') } : {}),
        };
        metrics.append(record);
        emit({ type: 'metrics', runId: id, label, record });
      }
      finalLoss = loss;
      if (evalLoss !== undefined) finalEvalLoss = evalLoss;
      const now = performance.now();
      if (now - lastProgress > 50 || t === steps) {
        emit({ type: 'progress', runId: id, label, step: t, steps });
        lastProgress = now;
      }
      if (diverged) {
        status = 'diverged';
        break;
      }
      if (now - lastYield > 100) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    // The final state is kept too: later analyses can start from the trained parameters.
    if (status === 'completed') save(steps);
    metrics.close();

    const result: RunResult = {
      id,
      label,
      dir: shownDir,
      status,
      steps: completed,
      ...(finalLoss !== undefined && Number.isFinite(finalLoss) && status !== 'interrupted'
        ? { finalLoss }
        : {}),
      // A diverged run's last evaluation is from before it diverged: not a final number.
      ...(finalEvalLoss !== undefined &&
      Number.isFinite(finalEvalLoss) &&
      status !== 'interrupted' &&
      status !== 'diverged'
        ? { finalEvalLoss }
        : {}),
      wallMs: performance.now() - started,
      ...(resumedFrom === undefined ? {} : { resumedFrom }),
      ...(divergence ? { divergence } : {}),
    };
    writeJsonAtomic(join(dir, 'result.json'), result);
    emit({ type: 'run-end', runId: id, label, result });
    return result;
  } catch (error) {
    const failed = recordFailure(
      dir,
      {
        id,
        label,
        dir: shownDir,
        status: 'failed',
        steps: completed,
        wallMs: performance.now() - started,
        ...(resumedFrom === undefined ? {} : { resumedFrom }),
        error: error instanceof Error ? error.message : String(error),
      },
      error,
    );
    emit({ type: 'run-end', runId: id, label, result: failed });
    // A bad input fails every run the same way: stop the experiment rather than repeat it.
    return isTdxError(error) && error.isInputError ? { ...failed, fatal: error } : failed;
  } finally {
    try {
      metrics?.close();
    } catch {
      // Closing a file that failed to write changes nothing on disk.
    }
    session?.dispose();
    pool?.close();
  }
}
