/**
 * `tdx worker`: takes runs from the queue (BullMQ), executes each with core's executeRun in a
 * child process and a scratch folder, and sends what the run writes to Redis as it goes.
 *
 * The worker's own process only talks to Redis and its children, so BullMQ's job locks are
 * renewed on time however long a training step computes. Exactly-once (see store.ts): a run is
 * claimed with a new epoch, every write names the epoch, and a lease keeps a second worker from
 * claiming it while this one lives. When the lease cannot be renewed (Redis unreachable), the
 * run's process is paused (SIGSTOP) before the lease runs out and continued (SIGCONT) once it
 * is renewed; when another worker has claimed the run meanwhile, the process is killed and its
 * output refused. So no run ever computes on two workers at once, and none is lost: a worker
 * that dies leaves the run's latest folder in Redis, and BullMQ hands the job to another
 * worker once the lock has expired (`stallSeconds`), which resumes from the last checkpoint.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { ownThreads } from '@tdx/core';
import { jobProcessor } from './job-processor.js';
import { QUEUE_NAME, type RunJob } from './protocol.js';
import { connect, ensureReachable } from './redis.js';
import { RunProcessPool } from './run-processes.js';
import { RunStore } from './store.js';
import { bullmqConnection, parseRedisUrl, type RedisTarget } from './url.js';
import type { QueueWorkerSummary, WorkerHost } from './worker-host.js';

export type { QueueWorkerSummary } from './worker-host.js';

export interface QueueWorkerOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...`. */
  url: string;
  /**
   * The script each run process runs: one that calls `serveRunProcess(createRegistry)` with the
   * caller's registry (the tdx command passes its own).
   */
  runScript: string;
  /** The script of analysis worker processes (core's serveAnalysisWorker), for analysisWorkers > 1. */
  analysisWorkerScript?: string;
  /** Runs at once, each in its own process (default: the number of cores). */
  concurrency?: number;
  /** The backend for runs whose spec says `auto` (a spec that names a backend gets that one). */
  backend?: string;
  /** Processes per run for analyses that split into parts (default 1: none). */
  analysisWorkers?: number;
  /** This worker's name in messages and in the store (default `<host>:<pid>`). */
  name?: string;
  /** Where the spec's plugin modules are resolved from (default: the working directory). */
  pluginDir?: string;
  /** Where scratch folders go (default: the system's temporary folder). */
  scratchDir?: string;
  /**
   * How long a lost worker's runs wait before another worker takes them over: BullMQ's lock
   * duration and the run lease (default 30 s).
   */
  stallSeconds?: number;
  /** Prefix of every key in Redis (default `tdx`); submitters and workers must agree. */
  queueName?: string;
  /** Lines about what the worker does (default: none). */
  log?: (line: string) => void;
  /** Aborting stops the worker: every run saves a checkpoint and goes back to the queue. */
  signal?: AbortSignal;
  /** Node options of the run processes (tests only; default: this process's). */
  execArgv?: string[];
}

/**
 * Removes the scratch folders of workers of this machine that died (SIGKILL leaves them):
 * `tdx-worker-<pid>-*` whose process is gone. What they held is in Redis.
 */
function removeDeadScratch(base: string, log: (line: string) => void): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^tdx-worker-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // alive (or another user's): leave it
    } catch (error) {
      if ((error as { code?: string }).code === 'EPERM') continue;
    }
    rmSync(join(base, name), { recursive: true, force: true });
    log(`removed ${join(base, name)}, the scratch folder of a worker that died`);
  }
}

/** Runs a worker until `options.signal` aborts; resolves when it has stopped cleanly. */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  const target = parseRedisUrl(options.url, 'tdx worker');
  const host = await openWorker(target, options);
  const worker = takeJobs(host, target);
  const stopped = stopOnAbort(host, options.signal);
  void worker.run().catch((error: unknown) => host.log(`queue: ${String(error)}`));
  await stopped;
  await worker.close();
  closeWorker(host);
  return host.summary;
}

/** A worker's Redis connection, store, run processes and scratch folder. */
interface OpenWorker extends WorkerHost {
  redis: ReturnType<typeof connect>;
  concurrency: number;
  queueName: string;
}

async function openWorker(target: RedisTarget, options: QueueWorkerOptions): Promise<OpenWorker> {
  const log = options.log ?? (() => {});
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? availableParallelism()));
  const redis = connect(target, (m) => log(`Redis ${target.shown}: ${m} (retrying)`));
  await ensureReachable(redis, target, 'tdx worker').catch((error: unknown) => {
    redis.disconnect();
    throw error;
  });
  const queueName = options.queueName ?? 'tdx';
  const scratchBase = resolve(options.scratchDir ?? tmpdir());
  removeDeadScratch(scratchBase, log);
  return {
    redis,
    concurrency,
    queueName,
    name: options.name ?? `${hostname()}:${process.pid}`,
    log,
    store: new RunStore(redis, queueName),
    processes: new RunProcessPool({
      script: options.runScript,
      execArgv: options.execArgv ?? process.execArgv,
      // The cores this worker may use (all of them, or TDX_BACKEND_THREADS when several workers
      // share a machine), shared among its run processes as the local pool shares them.
      threads: Math.max(1, Math.floor(ownThreads() / concurrency)),
      concurrency,
    }),
    summary: { ended: 0, givenBack: 0, superseded: 0 },
    leaseMs: Math.max(1000, (options.stallSeconds ?? 30) * 1000),
    scratchRoot: mkdtempSync(join(scratchBase, `tdx-worker-${process.pid}-`)),
    ...(options.analysisWorkerScript ? { analysisWorkerScript: options.analysisWorkerScript } : {}),
    pluginDir: resolve(options.pluginDir ?? process.cwd()),
    backend: options.backend,
    analysisWorkers: Math.max(1, Math.floor(options.analysisWorkers ?? 1)),
    stopping: false,
  };
}

/** The BullMQ worker that hands this worker's processor its jobs (not started yet). */
function takeJobs(host: OpenWorker, target: RedisTarget): Worker<RunJob> {
  const { log, name } = host;
  const worker = new Worker<RunJob>(QUEUE_NAME, jobProcessor(host), {
    connection: bullmqConnection(target),
    prefix: host.queueName,
    concurrency: host.concurrency,
    lockDuration: host.leaseMs,
    stalledInterval: host.leaseMs,
    // A run whose worker died is taken over; only a run that kills its workers over and over
    // (100 times) fails this way.
    maxStalledCount: 100,
    autorun: false,
    name,
  });
  let lastWorkerError = '';
  worker.on('error', (error: Error) => {
    if (error.message !== lastWorkerError) log(`queue: ${error.message}`);
    lastWorkerError = error.message;
  });
  worker.on('failed', (job, error) => {
    if (job) log(`[error] job ${job.id}: ${error.message}`);
  });
  log(
    `worker ${name}: ${host.concurrency} run(s) at once from ${target.shown} (queue ${host.queueName}); scratch folders in ${host.scratchRoot}`,
  );
  return worker;
}

/** Resolves when the signal aborts: every run then saves a checkpoint and goes back. */
function stopOnAbort(host: WorkerHost, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolveStop) => {
    const stop = () => {
      if (host.stopping) return;
      host.stopping = true;
      host.log(`worker ${host.name}: stopping; runs save a checkpoint and go back to the queue`);
      host.processes.stopRuns();
      resolveStop();
    };
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
  });
}

function closeWorker(host: OpenWorker): void {
  host.processes.exitAll();
  rmSync(host.scratchRoot, { recursive: true, force: true });
  host.redis.disconnect();
}

/** A queue handle for tests and tools: the BullMQ queue the workers take runs from. */
export function openQueue(url: string, queueName = 'tdx'): Queue {
  return new Queue(QUEUE_NAME, {
    connection: bullmqConnection(parseRedisUrl(url)),
    prefix: queueName,
  });
}
