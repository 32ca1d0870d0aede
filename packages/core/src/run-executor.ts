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
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint, type StoredCheckpoint } from './checkpoint.js';
import type { BackendInfo, TrainingSession } from './contracts.js';
import { TdxError, isTdxError } from './errors.js';
import type { AnalysisFile } from './experiment-data.js';
import type { EventListener, MetricsRecord, RunResult } from './events.js';
import type { Registry } from './registry.js';
import {
  JsonlWriter,
  readJson,
  readJsonl,
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

/** Keeps what was recorded before `step`; later records will be recomputed, identically. */
function truncateRecords(
  dir: string,
  plan: PlannedRun,
  step: number,
): Map<string, AnalysisFile['records']> {
  const metricsPath = join(dir, 'metrics.jsonl');
  const kept = readJsonl(metricsPath).filter((r) => (r.step as number) < step);
  writeJsonlAtomic(metricsPath, kept);
  const analyses = new Map<string, AnalysisFile['records']>();
  for (const ref of plan.spec.analyses) {
    const path = join(dir, 'analyses', `${ref.label}.json`);
    const records = (readJson<AnalysisFile>(path)?.records ?? []).filter((r) => r.step < step);
    writeJsonAtomic(path, analysisFile(ref, records));
    analyses.set(ref.label, records);
  }
  return analyses;
}

function writeJsonlAtomic(path: string, records: Array<Record<string, unknown>>): void {
  writeTextAtomic(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Lets signals, IPC and progress output through between synchronous training steps. */
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function executeRun(task: RunTask, ctx: RunContext): Promise<ExecutedRun> {
  const { plan, dir } = task;
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
  let status: RunResult['status'] = 'completed';

  emit({ type: 'run-start', runId: id, label, index: task.index, total: task.total, steps, dir });
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
      records = truncateRecords(dir, plan, checkpoint.step);
      const info: Record<string, unknown> =
        readJson<Record<string, unknown>>(join(dir, 'run.json')) ?? identity;

      const resumptions = [
        ...((info.resumptions as unknown[]) ?? []),
        { step: checkpoint.step, at: new Date().toISOString() },
      ];
      writeJsonAtomic(join(dir, 'run.json'), { ...info, resumptions });
      emit({ type: 'run-resumed', runId: id, label, step: checkpoint.step, dir });
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
      const values: Record<string, number | null> = {};
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
          if (output.value !== undefined) values[a.ref.label] = finiteOrNull(output.value);
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
      if (logging) {
        const record: MetricsRecord = {
          step: t,
          optimizer: plan.optimizer,
          loss: finiteOrNull(loss),
          ...(evalLoss === undefined ? {} : { evalLoss: finiteOrNull(evalLoss) }),
          ...Object.fromEntries(
            Object.entries(optimizerMetrics).map(([k, v]) => [`optimizer.${k}`, finiteOrNull(v)]),
          ),
          ...values,
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
      if (!Number.isFinite(loss)) {
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
  } catch (error) {
    const result: RunResult = {
      id,
      label,
      dir,
      status: 'failed',
      steps: completed,
      wallMs: performance.now() - started,
      ...(resumedFrom === undefined ? {} : { resumedFrom }),
      error: error instanceof Error ? error.message : String(error),
    };
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(join(dir, 'error.json'), {
      message: result.error,
      ...(isTdxError(error)
        ? { code: error.code, problems: error.problems, hint: error.hint }
        : {}),
      stack: error instanceof Error ? error.stack : undefined,
    });
    writeJsonAtomic(join(dir, 'result.json'), result);
    emit({ type: 'run-end', runId: id, label, result });
    // A bad input fails every run the same way: stop the experiment rather than repeat it.
    return isTdxError(error) && error.isInputError ? { ...result, fatal: error } : result;
  } finally {
    metrics?.close();
    session?.dispose();
    pool?.close();
  }

  const result: RunResult = {
    id,
    label,
    dir,
    status,
    steps: completed,
    ...(finalLoss !== undefined && Number.isFinite(finalLoss) && status !== 'interrupted'
      ? { finalLoss }
      : {}),
    ...(finalEvalLoss !== undefined && Number.isFinite(finalEvalLoss) && status !== 'interrupted'
      ? { finalEvalLoss }
      : {}),
    wallMs: performance.now() - started,
    ...(resumedFrom === undefined ? {} : { resumedFrom }),
  };
  writeJsonAtomic(join(dir, 'result.json'), result);
  emit({ type: 'run-end', runId: id, label, result });
  return result;
}
