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
import { join } from 'node:path';
import { readCheckpoint, type StoredCheckpoint } from './checkpoint.js';
import type { BackendInfo, TrainingSession } from './contracts.js';
import { TdxError, isTdxError } from './errors.js';
import type { EventListener, RunResult } from './events.js';
import type { AnalysisWorkerSetup } from './pool/analysis-pool.js';
import type { Registry } from './registry.js';
import { RunAnalyses } from './run-analyses.js';
import { RunCheckpoints } from './run-checkpoints.js';
import { JsonlWriter, writeJsonAtomic } from './run-directory.js';
import { recordFailure } from './run-failure.js';
import { createRunFolder, resumeRunFolder, type AnalysisRecords } from './run-folder.js';
import { createRunParts, startSession } from './run-parts.js';
import { scheduledSteps } from './schedule.js';
import type { PlannedRun } from './spec/expand.js';
import { trainingLoop, type RunProgress } from './training-loop.js';

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

/** What a run holds while it runs, released however it ends. */
interface RunResources {
  session?: TrainingSession;
  analyses?: RunAnalyses;
  metrics?: JsonlWriter;
}

export async function executeRun(task: RunTask, ctx: RunContext): Promise<ExecutedRun> {
  const started = performance.now();
  const progress: RunProgress = { status: 'completed', completed: 0 };
  const held: RunResources = {};
  announceStart(task, ctx);
  try {
    const { checkpoint, records } = openRunFolder(task, ctx, progress);
    await startRun(task, ctx, records, checkpoint, held);
    await train(task, ctx, checkpoint?.step ?? 0, held, progress);
    return finishRun(task, ctx, progress, started);
  } catch (error) {
    return failRun(task, ctx, progress, started, error);
  } finally {
    releaseRun(held);
  }
}

function announceStart(task: RunTask, ctx: RunContext): void {
  ctx.emit({
    type: 'run-start',
    runId: task.plan.id,
    label: task.plan.label,
    index: task.index,
    total: task.total,
    steps: task.plan.spec.train.steps,
    dir: task.reportDir ?? task.dir,
  });
}

/**
 * Prepares the run's folder: a resumed run continues from its checkpoint (read first, so that
 * a damaged one fails the run before anything on disk changes); any other starts afresh.
 */
function openRunFolder(
  task: RunTask,
  ctx: RunContext,
  progress: RunProgress,
): { checkpoint?: StoredCheckpoint; records: AnalysisRecords } {
  const checkpoint = task.mode === 'resume' ? readCheckpoint(task.dir, task.plan.id) : undefined;
  if (!checkpoint) return { records: createRunFolder(task, ctx) };
  progress.resumedFrom = checkpoint.step;
  progress.completed = checkpoint.step;
  return { checkpoint, records: resumeRunFolder(task, ctx.emit, checkpoint.step) };
}

/** Creates the run's plugins and starts its training session, from the checkpoint if any. */
async function startRun(
  task: RunTask,
  ctx: RunContext,
  records: AnalysisRecords,
  checkpoint: StoredCheckpoint | undefined,
  held: RunResources,
): Promise<void> {
  const { spec, id, label } = task.plan;
  // Each run gets its own child registry: nothing it creates or registers leaks.
  const parts = createRunParts(spec, ctx.registry.child());
  held.analyses = new RunAnalyses({
    spec,
    dir: task.dir,
    runId: id,
    label,
    emit: ctx.emit,
    instances: parts.analyses,
    records,
    workers: ctx.analysisWorkers,
  });
  const session = (held.session = await startSession(spec, parts, parts.optimizer()));
  if (checkpoint) {
    if (!session.restore)
      throw new TdxError(
        'PLUGIN_CONTRACT',
        `trainer "${spec.trainer.name}" cannot restore checkpoints`,
      );
    session.restore(checkpoint, checkpoint.step);
  }
}

/** Trains from state `start` to the end (or a stop, or a divergence), saving checkpoints. */
async function train(
  task: RunTask,
  ctx: RunContext,
  start: number,
  held: RunResources,
  progress: RunProgress,
): Promise<void> {
  const { spec, id: runId, label, optimizer } = task.plan;
  const { steps, logEvery } = spec.train;
  const session = held.session!;
  const metrics = (held.metrics = new JsonlWriter(join(task.dir, 'metrics.jsonl')));
  const checkpoints = new RunCheckpoints({
    dir: task.dir,
    runId,
    label,
    emit: ctx.emit,
    policy: ctx.checkpoint,
    session,
    start,
  });
  await trainingLoop(
    {
      runId,
      label,
      optimizer,
      emit: ctx.emit,
      session,
      analyses: held.analyses!,
      checkpoints,
      metrics,
      logged: scheduledSteps({ every: logEvery }, steps),
      start,
      steps,
      shouldStop: ctx.shouldStop,
    },
    progress,
  );
  // The final state is kept too: later analyses can start from the trained parameters.
  if (progress.status === 'completed') checkpoints.save(steps);
  metrics.close();
}

/** Writes result.json, last: a run folder with one holds a run that ended. */
function finishRun(
  task: RunTask,
  ctx: RunContext,
  progress: RunProgress,
  started: number,
): RunResult {
  const { status, finalLoss, finalEvalLoss, resumedFrom, divergence } = progress;
  const result: RunResult = {
    id: task.plan.id,
    label: task.plan.label,
    dir: task.reportDir ?? task.dir,
    status,
    steps: progress.completed,
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
  writeJsonAtomic(join(task.dir, 'result.json'), result);
  ctx.emit({ type: 'run-end', runId: task.plan.id, label: task.plan.label, result });
  return result;
}

/** Records the failure in the run's folder; a bad input also stops the experiment (`fatal`). */
function failRun(
  task: RunTask,
  ctx: RunContext,
  progress: RunProgress,
  started: number,
  error: unknown,
): ExecutedRun {
  const { id, label } = task.plan;
  const { resumedFrom } = progress;
  const failed = recordFailure(
    task.dir,
    {
      id,
      label,
      dir: task.reportDir ?? task.dir,
      status: 'failed',
      steps: progress.completed,
      wallMs: performance.now() - started,
      ...(resumedFrom === undefined ? {} : { resumedFrom }),
      error: error instanceof Error ? error.message : String(error),
    },
    error,
  );
  ctx.emit({ type: 'run-end', runId: id, label, result: failed });
  // A bad input fails every run the same way: stop the experiment rather than repeat it.
  return isTdxError(error) && error.isInputError ? { ...failed, fatal: error } : failed;
}

function releaseRun(held: RunResources): void {
  try {
    held.metrics?.close();
  } catch {
    // Closing a file that failed to write changes nothing on disk.
  }
  held.session?.dispose();
  held.analyses?.close();
}
