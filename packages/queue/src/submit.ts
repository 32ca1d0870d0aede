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
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  checkpointPath,
  fsErrorCode,
  ioError,
  makeDirs,
  readExperiment,
  resolveWithOverrides,
  writeExperimentFile,
  runReporters,
  runSource,
  TdxError,
  writeJsonAtomic,
  type CheckpointPolicy,
  type EventListener,
  type ExperimentEvent,
  type ExperimentResult,
  type Registry,
  type RunResult,
  type RunTask,
  type SpecSource,
} from '@tdx/core';
import { applySnapshot, readRunFiles } from './local-folder.js';
import { QUEUE_NAME, type RunJob } from './protocol.js';
import { connect, ensureReachable } from './redis.js';
import { RunStore, type KnownFile } from './store.js';
import { bullmqConnection, parseRedisUrl } from './url.js';

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

interface Pending {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The key of a run in the store and the id of its job: `<spec name>~<run id>`. */
export const runKey = (specName: string, runId: string): string => `${specName}~${runId}`;

const JOB_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: false,
  // A failure of the worker's own code (not of the run, which fails alone) is tried again.
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
} as const;

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
  const log = options.log ?? (() => {});
  const prefix = options.queueName ?? 'tdx';
  const pollMs = options.pollMs ?? 5000;
  const registry = options.registry.child();
  const { spec, runs, notices, outDir } = await resolveWithOverrides(rawSpec, options, registry);
  for (const message of notices) emit({ type: 'warning', message });

  const redis = connect(target, (m) => log(`Redis ${target.shown}: ${m} (retrying)`));
  let blocking: Redis | undefined;
  let queue: Queue | undefined;
  try {
    await ensureReachable(redis, target, '--queue');
    const store = new RunStore(redis, prefix);
    queue = new Queue(QUEUE_NAME, { connection: bullmqConnection(target), prefix });
    queue.on('error', (e: Error) => log(`queue: ${e.message}`));
    const q = queue;

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

    const results = new Map<string, RunResult>();
    const pending = new Map<string, Pending>();
    const handedOut = new Set<string>();
    const heldElsewhere = new Set<string>();
    const aborted = () => options.signal?.aborted === true;
    // Detached, runs another `tdx run` holds on this folder are its business: do not wait.
    const shouldStop = () =>
      aborted() ||
      (options.detach === true &&
        runs.every((r) => handedOut.has(r.id) || results.has(r.id) || heldElsewhere.has(r.id)));
    const source = runSource(
      runs,
      experimentDir,
      results,
      (event) => {
        if (event.type === 'run-waiting') heldElsewhere.add(event.runId);
        emit(event);
      },
      shouldStop,
      {
        ...(options.rerun ? { rerun: true } : {}),
        ...(options.rerunDiverged ? { rerunDiverged: true } : {}),
      },
    );
    const releaseOnExit = () => source.releaseAll();
    process.on('exit', releaseOnExit);
    let queued = 0;
    let reattached = 0;

    const addJob = async (p: Pending) => {
      // A failed job of an earlier submission keeps the id: it goes first.
      const old = await q.getJob(p.key);
      if (old && (await old.getState()) === 'failed') await old.remove().catch(() => {});
      await q.add('run', p.job, { ...JOB_OPTIONS, jobId: p.key });
    };

    /** Puts the run's record (with the files of the folder to resume) and job on the queue. */
    const upload = async (p: Pending) => {
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
      await addJob(p);
    };

    const enqueue = async (task: RunTask) => {
      handedOut.add(task.plan.id);
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
        await upload(p);
        queued++;
      } else {
        reattached++;
        if (record.state !== 'ended' && (await q.getJobState(key)) === 'unknown') await addJob(p);
      }
      pending.set(key, p);
    };

    /** Writes what the store has of the run into its folder; at its end, collects it. */
    const look = async (p: Pending) => {
      p.lastLook = performance.now();
      p.dirty = false;
      const snapshot = await store.snapshot(p.key, p.known);
      if (!snapshot) {
        log(
          `[lost] ${p.task.plan.label}: Redis no longer holds this run (restarted without its data?); queued again from what was collected here`,
        );
        await upload(p);
        return;
      }
      if (snapshot.record.state === 'ended') return collect(p, snapshot);
      applySnapshot(p.task.dir, snapshot, p.known, false);
      if (performance.now() - p.lastJobCheck > pollMs) {
        p.lastJobCheck = performance.now();
        const state = await q.getJobState(p.key);
        if (state === 'unknown') await addJob(p);
        else if (state === 'failed') {
          const job = await q.getJob(p.key);
          await giveUp(p, job?.failedReason ?? 'the job failed');
        }
      }
    };

    const finish = (p: Pending, result: RunResult) => {
      pending.delete(p.key);
      source.finished(p.task);
      results.set(p.task.plan.id, result);
      emit({ type: 'run-end', runId: p.task.plan.id, label: p.task.plan.label, result });
    };

    const collect = async (p: Pending, first: Awaited<ReturnType<RunStore['snapshot']>>) => {
      const dir = p.task.dir;
      let snapshot = first;
      const record = snapshot!.record;
      let result: RunResult = record.result ?? {
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
        await q.remove(p.key).catch(() => {});
      }
      finish(p, result);
    };

    /** The queue gave up on the run (BullMQ failed its job): a failure, recorded here. */
    const giveUp = async (p: Pending, reason: string) => {
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
        await q.remove(p.key).catch(() => {});
      } catch (error) {
        result.error = `${result.error} (${error instanceof Error ? error.message : String(error)})`;
      }
      finish(p, result);
    };

    let submitting = true;
    const submission = (async () => {
      try {
        for (let task = await source.next(); task; task = await source.next()) await enqueue(task);
        if (queued + reattached > 0)
          log(
            `${queued} run(s) queued on ${target.shown} (key prefix ${prefix})` +
              (reattached > 0 ? `, ${reattached} on it from an earlier submission` : '') +
              (options.detach ? '' : `; workers take them: tdx worker ${target.shown}`),
          );
      } finally {
        submitting = false;
      }
    })();

    const collector = async () => {
      blocking = redis.duplicate();
      blocking.on('error', () => {});
      while ((submitting || pending.size > 0) && !aborted()) {
        if (pending.size === 0) {
          await sleep(100);
          continue;
        }
        const list = [...pending.values()];
        type Entries = Array<[string, Array<[string, string[]]>]>;
        let reply: Entries | null;
        try {
          reply = (await blocking.xread(
            'COUNT',
            1000,
            'BLOCK',
            500,
            'STREAMS',
            ...list.map((p) => p.eventsKey),
            ...list.map((p) => p.lastId),
          )) as Entries | null;
        } catch {
          reply = null;
          await sleep(500);
        }
        for (const [stream, entries] of reply ?? []) {
          const p = list.find((x) => x.eventsKey === stream);
          if (!p) continue;
          for (const [id, fields] of entries) {
            p.lastId = id;
            p.dirty = true;
            let event: ExperimentEvent;
            try {
              event = JSON.parse(fields[1] ?? '') as ExperimentEvent;
            } catch {
              continue;
            }
            if (event.type === 'run-end') p.ended = true;
            else {
              if (event.type === 'progress') p.lastStep = event.step;
              emit(event);
            }
          }
        }
        const now = performance.now();
        for (const p of [...pending.values()]) {
          if (aborted()) break;
          if (p.ended || (p.dirty && now - p.lastLook > 1000) || now - p.lastLook > pollMs)
            await look(p).catch((error: unknown) => {
              // A folder that cannot be written now (a full disk) is written at the end.
              emit({
                type: 'warning',
                runId: p.task.plan.id,
                label: p.task.plan.label,
                message: `cannot follow the run here yet: ${error instanceof Error ? error.message : String(error)}`,
              });
            });
        }
      }
    };

    if (options.detach) {
      await submission;
    } else {
      await Promise.all([submission, collector()]);
      if (!aborted()) await submission;
    }
    // Runs finished here and skipped: whatever an earlier submission left of them in Redis is
    // not needed any more (a run it still executes stops: its writes are refused).
    for (const [id, r] of results)
      if (r.status === 'skipped') {
        const key = runKey(spec.name, id);
        if (await store.record(key)) {
          await store.discard(key);
          await q.remove(key).catch(() => {});
        }
      }
    // Stopped or detached: what the store holds so far goes into the folders (not the result).
    if (!options.detach)
      for (const p of pending.values())
        await within(
          (async () => {
            const s = await store.snapshot(p.key, p.known);
            if (s && s.record.state !== 'ended') applySnapshot(p.task.dir, s, p.known, false);
          })(),
          2000,
        );
    source.releaseAll();
    process.off('exit', releaseOnExit);

    const onQueue = [...pending.values()].map((p) => p.task.plan.id);
    const summary = (reports: string[], reportErrors: string[]): QueueRunResult => ({
      name: spec.name,
      dir: experimentDir,
      backend,
      runs: runs.map(
        (plan) =>
          results.get(plan.id) ?? {
            id: plan.id,
            label: plan.label,
            dir: join(experimentDir, plan.id),
            status: 'interrupted',
            steps: [...pending.values()].find((p) => p.task.plan.id === plan.id)?.lastStep ?? 0,
            wallMs: 0,
          },
      ),
      reports,
      ...(reportErrors.length > 0 ? { reportErrors } : {}),
      queued,
      reattached,
      onQueue,
      detached: options.detach === true,
    });
    if (options.detach) return summary([], []);
    const reports = await runReporters(readExperiment(experimentDir), spec.reporters, registry);
    if (reports.files.length > 0) emit({ type: 'reports', files: reports.files });
    const result = summary(reports.files, reports.errors);
    emit({ type: 'experiment-end', result });
    return result;
  } finally {
    await queue?.close().catch(() => {});
    blocking?.disconnect();
    redis.disconnect();
  }
}
