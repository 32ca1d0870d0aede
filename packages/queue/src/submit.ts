/**
 * `tdx run --queue`: the submitting side. The spec is resolved and validated exactly as for a
 * local run, its runs are claimed and prepared by core's run source exactly as for a local run
 * (finished runs skipped, `--rerun` moving folders aside, claims against other `tdx run`
 * processes on the same folder), and each run that needs work becomes one BullMQ job. What the
 * workers write comes back through Redis (store.ts) and is written into the same run folders a
 * local run writes, then the same reports.
 *
 * The submitter holds no state that matters: killed, it loses nothing (the runs go on, their
 * folders are in Redis), and `tdx run` of the same spec again reattaches and collects. When
 * Redis has lost a run (restarted without persistence), it is queued again from the folder
 * collected so far, whose checkpoint is never newer than its records.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  fsErrorCode,
  ioError,
  makeDirs,
  readExperiment,
  resolveWithOverrides,
  writeExperimentFile,
  runReporters,
  TdxError,
  writeJsonAtomic,
  type CheckpointPolicy,
  type EventListener,
  type ExperimentResult,
  type PlannedRun,
  type Registry,
  type ResolvedSpec,
  type SpecSource,
} from '@tdx/core';
import { followRuns } from './collector.js';
import { QUEUE_NAME } from './protocol.js';
import { connect, ensureReachable } from './redis.js';
import { RunStore } from './store.js';
import { Submission } from './submission.js';
import { bullmqConnection, parseRedisUrl, type RedisTarget } from './url.js';

export { runKey } from './submission.js';

export interface QueueRunOptions {
  /** Registry with the built-in plugins; the spec's own plugins go into a child of it. */
  registry: Registry;
  /** `redis://[user:password@]host:port[/db]` or `rediss://...`. */
  url: string;
  /** Prefix of every key in Redis (default `tdx`); submitters and workers must agree. */
  queueName?: string;
  onEvent?: EventListener;
  /** Lines about the queue itself (what was queued, a run Redis lost). */
  log?: (line: string) => void;
  /** Folder that holds <spec name>/; default `runs` in the working directory. */
  outDir?: string;
  /** Overrides the spec's backend (the --backend flag). */
  backend?: string;
  /** The spec's file, for relative plugin paths and error locations. */
  source?: SpecSource;
  rerun?: boolean;
  rerunDiverged?: boolean;
  forceSize?: boolean;
  /** When runs save checkpoints (travels with each run). */
  checkpoint?: CheckpointPolicy;
  /** Aborting stops waiting: the runs go on on the workers; running the spec again collects. */
  signal?: AbortSignal;
  /** Submit and return without waiting for the runs. */
  detach?: boolean;
  /** How often every run's state is checked even without events (default 5 s). */
  pollMs?: number;
}

export interface QueueRunResult extends ExperimentResult {
  /** Runs put on the queue by this call. */
  queued: number;
  /** Runs that were on the queue already (an earlier submission), now collected or waited for. */
  reattached: number;
  /** Ids of runs still on the queue when this call returned (detached or stopped). */
  onQueue: string[];
  detached: boolean;
}

/** As runExperiment: the results folder must be writable, else bad input (choose another --out). */
function createExperimentDir(dir: string): void {
  try {
    makeDirs(dir);
    const probe = join(dir, `.write-test-${process.pid}`);
    writeJsonAtomic(probe, {});
    rmSync(probe, { force: true });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    const code = fsErrorCode(cause);
    const io = ioError(cause, 'write results into', dir);
    if (
      code &&
      ['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'ENOENT'].includes(code)
    )
      throw new TdxError('INVALID_ARGUMENT', io.message, {
        cause: error,
        ...(io.hint ? { hint: io.hint } : {}),
      });
    throw io;
  }
}

/**
 * Runs a spec on the queue's workers: validates it, queues its runs, waits for them and writes
 * their folders and the reports here (or, with `detach`, returns once they are queued).
 */
export async function runOnQueue(
  rawSpec: unknown,
  options: QueueRunOptions,
): Promise<QueueRunResult> {
  const target = parseRedisUrl(options.url);
  const emit: EventListener = options.onEvent ?? (() => {});
  const registry = options.registry.child();
  const { spec, runs, notices, outDir } = await resolveWithOverrides(rawSpec, options, registry);
  for (const message of notices) emit({ type: 'warning', message });
  const connection = new QueueConnection(target, options);
  try {
    const submission = await openSubmission(connection, spec, runs, outDir, options, emit);
    await submitAndFollow(submission, connection);
    await leaveFolders(submission);
    return await report(submission, registry);
  } finally {
    await connection.close();
  }
}

/** The submitter's connections: commands, the BullMQ queue, and one for blocking reads. */
class QueueConnection {
  readonly redis: Redis;
  readonly prefix: string;
  private queue: Queue | undefined;
  private blockingRedis: Redis | undefined;

  constructor(
    readonly target: RedisTarget,
    private readonly options: QueueRunOptions,
  ) {
    const log = options.log ?? (() => {});
    this.prefix = options.queueName ?? 'tdx';
    this.redis = connect(target, (m) => log(`Redis ${target.shown}: ${m} (retrying)`));
  }

  /** Checks Redis answers, then opens the queue. */
  async open(): Promise<{ store: RunStore; queue: Queue }> {
    const log = this.options.log ?? (() => {});
    await ensureReachable(this.redis, this.target, '--queue');
    const store = new RunStore(this.redis, this.prefix);
    this.queue = new Queue(QUEUE_NAME, {
      connection: bullmqConnection(this.target),
      prefix: this.prefix,
    });
    this.queue.on('error', (e: Error) => log(`queue: ${e.message}`));
    return { store, queue: this.queue };
  }

  blocking(): Redis {
    this.blockingRedis = this.redis.duplicate();
    this.blockingRedis.on('error', () => {});
    return this.blockingRedis;
  }

  async close(): Promise<void> {
    await this.queue?.close().catch(() => {});
    this.blockingRedis?.disconnect();
    this.redis.disconnect();
  }
}

/** The experiment's folder and experiment.json as for a local run, and the runs' claims. */
async function openSubmission(
  connection: QueueConnection,
  spec: ResolvedSpec,
  runs: PlannedRun[],
  outDir: string,
  options: QueueRunOptions,
  emit: EventListener,
): Promise<Submission> {
  const { store, queue } = await connection.open();
  const experimentDir = join(outDir, spec.name);
  createExperimentDir(experimentDir);
  // Runs execute on the workers: each run.json records the backend that ran it.
  const backend = { name: spec.backend.name, details: { on: 'queue workers' } };
  writeExperimentFile(experimentDir, spec, runs, backend, options.source);
  emit({
    type: 'experiment-start',
    name: spec.name,
    dir: experimentDir,
    backend,
    workers: 1,
    runs: runs.map((r) => ({ id: r.id, label: r.label, dir: join(experimentDir, r.id) })),
  });
  const submission = new Submission({
    spec,
    runs,
    experimentDir,
    backend,
    store,
    queue,
    target: connection.target,
    prefix: connection.prefix,
    options,
    emit,
    log: options.log ?? (() => {}),
  });
  submission.holdClaims();
  return submission;
}

/** Hands out the runs and, unless detached, follows them until each is collected. */
async function submitAndFollow(submission: Submission, connection: QueueConnection): Promise<void> {
  const handingOut = submission.submitAll();
  if (submission.setup.options.detach) return handingOut;
  await Promise.all([handingOut, followRuns(submission, connection.blocking())]);
  if (!submission.aborted()) await handingOut;
}

/** What the queue still holds of the runs goes into their folders; the claims are given up. */
async function leaveFolders(submission: Submission): Promise<void> {
  await submission.dropSkipped();
  if (!submission.setup.options.detach) await submission.copyProgress();
  submission.releaseClaims();
}

/** The result; unless detached, after the spec's reports have been written. */
async function report(submission: Submission, registry: Registry): Promise<QueueRunResult> {
  const { spec, experimentDir, backend, options, emit } = submission.setup;
  const summary = (reports: string[], reportErrors: string[]): QueueRunResult => ({
    name: spec.name,
    dir: experimentDir,
    backend,
    runs: submission.runResults(),
    reports,
    ...(reportErrors.length > 0 ? { reportErrors } : {}),
    queued: submission.queued,
    reattached: submission.reattached,
    onQueue: [...submission.pending.values()].map((p) => p.task.plan.id),
    detached: options.detach === true,
  });
  if (options.detach) return summary([], []);
  const reports = await runReporters(readExperiment(experimentDir), spec.reporters, registry);
  if (reports.files.length > 0) emit({ type: 'reports', files: reports.files });
  const result = summary(reports.files, reports.errors);
  emit({ type: 'experiment-end', result });
  return result;
}
