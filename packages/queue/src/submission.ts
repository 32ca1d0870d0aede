/**
 * A spec's runs on the queue, as the submitter follows them: each run it hands out becomes a
 * record in the store and a BullMQ job (or is reattached to, when an earlier submission left
 * it there); what the workers write is copied into the run's folder here, and an ended run is
 * collected (its folder completed, the store's copy dropped). The submitter holds no state that
 * matters: all of this can be rebuilt from the store and the folders.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import {
  checkpointPath,
  runSource,
  writeJsonAtomic,
  type BackendInfo,
  type EventListener,
  type PlannedRun,
  type ResolvedSpec,
  type RunResult,
  type RunSource,
  type RunTask,
} from '@tdx/core';
import { applySnapshot, readRunFiles } from './local-folder.js';
import type { RunJob } from './protocol.js';
import type { QueueRunOptions } from './submit.js';
import type { KnownFile, RunStore, Snapshot } from './store.js';
import type { RedisTarget } from './url.js';

/** A run handed out and not yet collected. */
export interface Pending {
  key: string;
  task: RunTask;
  job: RunJob;
  known: Map<string, KnownFile>;
  eventsKey: string;
  lastId: string;
  dirty: boolean;
  ended: boolean;
  lastLook: number;
  lastJobCheck: number;
  lastStep: number;
}

/** The key of a run in the store and the id of its job: `<spec name>~<run id>`. */
export const runKey = (specName: string, runId: string): string => `${specName}~${runId}`;

const JOB_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: false,
  // A failure of the worker's own code (not of the run, which fails alone) is tried again.
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
} as const;

/** Resolves with `work`, or undefined after `ms` (Redis may be down while we stop). */
function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    work.finally(() => clearTimeout(timer)),
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), ms);
    }),
  ]);
}

export interface SubmissionSetup {
  spec: ResolvedSpec;
  runs: PlannedRun[];
  /** <outDir>/<spec name>. */
  experimentDir: string;
  backend: BackendInfo;
  store: RunStore;
  queue: Queue;
  target: RedisTarget;
  /** Prefix of every key in Redis. */
  prefix: string;
  options: QueueRunOptions;
  emit: EventListener;
  log: (line: string) => void;
}

export class Submission {
  readonly results = new Map<string, RunResult>();
  readonly pending = new Map<string, Pending>();
  /** Runs put on the queue by this submission. */
  queued = 0;
  /** Runs found on the queue from an earlier submission. */
  reattached = 0;
  /** False once every run has been handed out (or a stop was asked). */
  submitting = true;
  readonly source: RunSource;
  readonly pollMs: number;
  private readonly handedOut = new Set<string>();
  private readonly heldElsewhere = new Set<string>();
  private readonly releaseOnExit = () => this.source.releaseAll();

  constructor(readonly setup: SubmissionSetup) {
    const { runs, experimentDir, options, emit } = setup;
    this.pollMs = options.pollMs ?? 5000;
    this.source = runSource(
      runs,
      experimentDir,
      this.results,
      (event) => {
        if (event.type === 'run-waiting') this.heldElsewhere.add(event.runId);
        emit(event);
      },
      () => this.shouldStop(),
      {
        ...(options.rerun ? { rerun: true } : {}),
        ...(options.rerunDiverged ? { rerunDiverged: true } : {}),
      },
    );
  }

  /** Keeps the runs' claims until releaseClaims (or the process's exit, whichever comes first). */
  holdClaims(): void {
    process.on('exit', this.releaseOnExit);
  }

  releaseClaims(): void {
    this.source.releaseAll();
    process.off('exit', this.releaseOnExit);
  }

  aborted(): boolean {
    return this.setup.options.signal?.aborted === true;
  }

  /** Detached, runs another `tdx run` holds on this folder are its business: do not wait. */
  private shouldStop(): boolean {
    const { runs, options } = this.setup;
    return (
      this.aborted() ||
      (options.detach === true &&
        runs.every(
          (r) => this.handedOut.has(r.id) || this.results.has(r.id) || this.heldElsewhere.has(r.id),
        ))
    );
  }

  /** Hands out every run the source gives (claimed and prepared as for a local run). */
  async submitAll(): Promise<void> {
    const { options, log, target, prefix } = this.setup;
    try {
      for (let task = await this.source.next(); task; task = await this.source.next())
        await this.enqueue(task);
      if (this.queued + this.reattached > 0)
        log(
          `${this.queued} run(s) queued on ${target.shown} (key prefix ${prefix})` +
            (this.reattached > 0 ? `, ${this.reattached} on it from an earlier submission` : '') +
            (options.detach ? '' : `; workers take them: tdx worker ${target.shown}`),
        );
    } finally {
      this.submitting = false;
    }
  }

  /** Puts a run on the queue, or reattaches to it when an earlier submission left it there. */
  private async enqueue(task: RunTask): Promise<void> {
    const { spec, options, store, queue } = this.setup;
    this.handedOut.add(task.plan.id);
    const key = runKey(spec.name, task.plan.id);
    const p: Pending = {
      key,
      task,
      job: {
        format: 'tdx-run-job/1',
        key,
        task: {
          plan: task.plan,
          index: task.index,
          total: task.total,
          ...(task.previousMovedTo ? { previousMovedTo: task.previousMovedTo } : {}),
        },
        reportDir: task.dir,
        checkpoint: options.checkpoint ?? {},
        ...(options.source ? { specFile: options.source.path } : {}),
      },
      known: new Map(),
      eventsKey: store.keys(key).events,
      lastId: '0',
      dirty: true,
      ended: false,
      lastLook: 0,
      lastJobCheck: performance.now(),
      lastStep: 0,
    };
    let record = await store.record(key);
    if (record && record.state === 'ended' && task.previousMovedTo) {
      // --rerun: an uncollected result of the earlier run is not this run's.
      await store.discard(key);
      record = undefined;
    }
    if (!record) {
      await this.upload(p);
      this.queued++;
    } else {
      this.reattached++;
      if (record.state !== 'ended' && (await queue.getJobState(key)) === 'unknown')
        await this.addJob(p);
    }
    this.pending.set(key, p);
  }

  private async addJob(p: Pending): Promise<void> {
    const { queue } = this.setup;
    // A failed job of an earlier submission keeps the id: it goes first.
    const old = await queue.getJob(p.key);
    if (old && (await old.getState()) === 'failed') await old.remove().catch(() => {});
    await queue.add('run', p.job, { ...JOB_OPTIONS, jobId: p.key });
  }

  /** Puts the run's record (with the files of the folder to resume) and job on the queue. */
  private async upload(p: Pending): Promise<void> {
    const { spec, store } = this.setup;
    const files = existsSync(checkpointPath(p.task.dir)) ? readRunFiles(p.task.dir) : [];
    const info = {
      name: spec.name,
      runId: p.task.plan.id,
      label: p.task.plan.label,
      submittedAt: new Date().toISOString(),
    };
    p.known = new Map();
    if (await store.submit(p.key, info, files))
      files.forEach((f, i) => p.known.set(f.path, { gen: i + 1, length: f.data.length }));
    await this.addJob(p);
  }

  /** Writes what the store has of the run into its folder; at its end, collects it. */
  async look(p: Pending): Promise<void> {
    const { store, queue, log } = this.setup;
    p.lastLook = performance.now();
    p.dirty = false;
    const snapshot = await store.snapshot(p.key, p.known);
    if (!snapshot) {
      log(
        `[lost] ${p.task.plan.label}: Redis no longer holds this run (restarted without its data?); queued again from what was collected here`,
      );
      await this.upload(p);
      return;
    }
    if (snapshot.record.state === 'ended') return this.collect(p, snapshot);
    applySnapshot(p.task.dir, snapshot, p.known, false);
    if (performance.now() - p.lastJobCheck > this.pollMs) {
      p.lastJobCheck = performance.now();
      const state = await queue.getJobState(p.key);
      if (state === 'unknown') await this.addJob(p);
      else if (state === 'failed') {
        const job = await queue.getJob(p.key);
        await this.giveUp(p, job?.failedReason ?? 'the job failed');
      }
    }
  }

  private finish(p: Pending, result: RunResult): void {
    this.pending.delete(p.key);
    this.source.finished(p.task);
    this.results.set(p.task.plan.id, result);
    this.setup.emit({ type: 'run-end', runId: p.task.plan.id, label: p.task.plan.label, result });
  }

  /** Completes the folder of an ended run and drops the store's copy. */
  private async collect(p: Pending, first: Snapshot): Promise<void> {
    const { store, queue } = this.setup;
    const dir = p.task.dir;
    let snapshot: Snapshot | undefined = first;
    let result: RunResult = first.record.result ?? {
      id: p.task.plan.id,
      label: p.task.plan.label,
      dir,
      status: 'failed',
      steps: p.lastStep,
      wallMs: 0,
      error: 'the run ended without a result',
    };
    let keep = false;
    try {
      while (snapshot && applySnapshot(dir, snapshot, p.known, true))
        snapshot = await store.snapshot(p.key, p.known);
      if (!existsSync(join(dir, 'result.json'))) {
        if (result.status === 'failed')
          writeJsonAtomic(join(dir, 'error.json'), {
            message: result.error,
            code: 'WORKER_FAILED',
          });
        writeJsonAtomic(join(dir, 'result.json'), result);
      }
    } catch (error) {
      keep = true;
      result = {
        ...result,
        status: 'failed',
        error: `${error instanceof Error ? error.message : String(error)}; its results stay on the queue: run the same command again to collect them`,
      };
    }
    if (!keep) {
      await store.discard(p.key);
      await queue.remove(p.key).catch(() => {});
    }
    this.finish(p, result);
  }

  /** The queue gave up on the run (BullMQ failed its job): a failure, recorded here. */
  private async giveUp(p: Pending, reason: string): Promise<void> {
    const { store, queue } = this.setup;
    const dir = p.task.dir;
    const result: RunResult = {
      id: p.task.plan.id,
      label: p.task.plan.label,
      dir,
      status: 'failed',
      steps: p.lastStep,
      wallMs: 0,
      error: `the queue gave up on this run (${reason}); running the spec again resumes it from its last checkpoint`,
    };
    try {
      writeJsonAtomic(join(dir, 'error.json'), { message: result.error, code: 'WORKER_FAILED' });
      writeJsonAtomic(join(dir, 'result.json'), result);
      await store.discard(p.key);
      await queue.remove(p.key).catch(() => {});
    } catch (error) {
      result.error = `${result.error} (${error instanceof Error ? error.message : String(error)})`;
    }
    this.finish(p, result);
  }

  /**
   * Runs finished here and skipped: whatever an earlier submission left of them in Redis is not
   * needed any more (a run it still executes stops: its writes are refused).
   */
  async dropSkipped(): Promise<void> {
    const { spec, store, queue } = this.setup;
    for (const [id, r] of this.results)
      if (r.status === 'skipped') {
        const key = runKey(spec.name, id);
        if (await store.record(key)) {
          await store.discard(key);
          await queue.remove(key).catch(() => {});
        }
      }
  }

  /** Stopped or detached: what the store holds so far goes into the folders (not the result). */
  async copyProgress(): Promise<void> {
    const { store } = this.setup;
    for (const p of this.pending.values())
      await within(
        (async () => {
          const s = await store.snapshot(p.key, p.known);
          if (s && s.record.state !== 'ended') applySnapshot(p.task.dir, s, p.known, false);
        })(),
        2000,
      );
  }

  /** Every run's result: collected, or interrupted (still on the queue). */
  runResults(): RunResult[] {
    const { runs, experimentDir } = this.setup;
    return runs.map(
      (plan) =>
        this.results.get(plan.id) ?? {
          id: plan.id,
          label: plan.label,
          dir: join(experimentDir, plan.id),
          status: 'interrupted',
          steps: [...this.pending.values()].find((p) => p.task.plan.id === plan.id)?.lastStep ?? 0,
          wallMs: 0,
        },
    );
  }
}
