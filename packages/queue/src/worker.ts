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
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import {
  flattenRef,
  ownThreads,
  runSpecToJson,
  TdxError,
  type BackendInfo,
  type ExperimentEvent,
  type RunResult,
  type RunTask,
} from '@tdx/core';
import type { ChildSetup, FromChild, RunJob, SerializedError, ToChild } from './protocol.js';
import { QUEUE_NAME } from './protocol.js';
import { connect, ensureReachable } from './redis.js';
import { RunStore, type FileOp } from './store.js';
import { bullmqConnection, parseRedisUrl } from './url.js';

export interface QueueWorkerOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...`. */
  url: string;
  /** A module exporting createRegistry() with the built-in plugins (the tdx command passes its own). */
  registryModule: string;
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
  /** The run process's script (tests only; default: run-process.js next to this module). */
  runScript?: string;
  /** Node options of the run processes (tests only; default: this process's). */
  execArgv?: string[];
}

/** What a worker did, when it stops. */
export interface QueueWorkerSummary {
  /** Runs that ended here (completed, diverged or failed). */
  ended: number;
  /** Runs stopped here and given back to the queue (the worker was stopping). */
  givenBack: number;
  /** Runs another worker took over while this one held them (their output was refused). */
  superseded: number;
}

const defaultRunScript = (): string => fileURLToPath(new URL('./run-process.js', import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process that executes runs, with the setup it was started with. */
interface RunProcess {
  child: ChildProcess;
  key: string;
  ready: Promise<BackendInfo>;
  busy: boolean;
  /** Set while it executes a run: the run's handler of messages and of the process's exit. */
  onMessage?: (message: FromChild) => void;
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

/** The files a failed run leaves, as executeRun writes them (error.json, then result.json). */
function failureFiles(result: RunResult, error: SerializedError): FileOp[] {
  return [
    {
      op: 'write',
      path: 'error.json',
      data: json({
        message: result.error,
        ...(error.code
          ? { code: error.code, problems: error.problems ?? [], hint: error.hint }
          : {}),
        stack: error.stack,
      }),
    },
    { op: 'write', path: 'result.json', data: json(result) },
  ];
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
  const log = options.log ?? (() => {});
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? availableParallelism()));
  const stallMs = Math.max(1000, (options.stallSeconds ?? 30) * 1000);
  const leaseMs = stallMs;
  const prefix = options.queueName ?? 'tdx';
  const pluginDir = resolve(options.pluginDir ?? process.cwd());
  const analysisWorkers = Math.max(1, Math.floor(options.analysisWorkers ?? 1));
  // The cores this worker may use (all of them, or TDX_BACKEND_THREADS when several workers
  // share a machine), shared among its run processes as the local pool shares them.
  const threads = Math.max(1, Math.floor(ownThreads() / concurrency));

  const redis = connect(target, (m) => log(`Redis ${target.shown}: ${m} (retrying)`));
  await ensureReachable(redis, target, 'tdx worker').catch((error: unknown) => {
    redis.disconnect();
    throw error;
  });
  const store = new RunStore(redis, prefix);
  const scratchBase = resolve(options.scratchDir ?? tmpdir());
  removeDeadScratch(scratchBase, log);
  const scratchRoot = mkdtempSync(join(scratchBase, `tdx-worker-${process.pid}-`));
  const summary: QueueWorkerSummary = { ended: 0, givenBack: 0, superseded: 0 };
  const processes = new Set<RunProcess>();
  let stopping = false;

  const startProcess = (setup: ChildSetup, key: string): RunProcess => {
    const child = fork(options.runScript ?? defaultRunScript(), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv: options.execArgv ?? process.execArgv,
      env: { ...process.env, TDX_BACKEND_THREADS: String(threads) },
    });
    let settle!: { resolve: (b: BackendInfo) => void; reject: (e: SerializedError) => void };
    const ready = new Promise<BackendInfo>((res, rej) => {
      settle = { resolve: res, reject: rej };
    });
    ready.catch(() => {});
    const p: RunProcess = { child, key, ready, busy: false };
    child.on('message', (message: FromChild) => {
      if (message.type === 'ready') settle.resolve(message.backend);
      else if (message.type === 'init-error') settle.reject(message.error);
      else p.onMessage?.(message);
    });
    child.on('exit', (code, signal) => {
      processes.delete(p);
      settle.reject({
        code: 'WORKER_FAILED',
        message: `the run process exited while starting (${signal ?? `code ${code}`})`,
      });
      p.onExit?.(code, signal);
    });
    child.send({ type: 'init', setup } satisfies ToChild);
    processes.add(p);
    return p;
  };

  /** An idle process with this setup, or a new one (an idle one of another setup makes room). */
  const acquire = (setup: ChildSetup): RunProcess => {
    const key = JSON.stringify(setup);
    const idle = [...processes].find((p) => !p.busy && p.key === key);
    if (idle) {
      idle.busy = true;
      return idle;
    }
    const others = [...processes].filter((p) => !p.busy);
    if (processes.size >= concurrency && others[0]) {
      others[0].child.send({ type: 'exit' } satisfies ToChild);
      processes.delete(others[0]);
    }
    const p = startProcess(setup, key);
    p.busy = true;
    return p;
  };

  const discard = (p: RunProcess) => {
    processes.delete(p);
    p.onMessage = undefined;
    p.onExit = undefined;
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  };

  const processor = async (job: Job, token?: string): Promise<unknown> => {
    const data = job.data as RunJob;
    if (data?.format !== 'tdx-run-job/1')
      throw new TdxError(
        'INVALID_ARGUMENT',
        `job ${job.id} is not a tdx run (format ${JSON.stringify(data?.format)}); a submitter of another tdx version?`,
      );
    const { key } = data;
    const label = data.task.plan.label;
    const spec = data.task.plan.spec;

    // Claim the run: wait while another worker's lease is live (it may be alive and slow).
    let claim;
    for (;;) {
      if (stopping) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      claim = await store.claim(key, name, leaseMs);
      if (claim.outcome !== 'busy') break;
      await sleep(Math.min(claim.retryMs + 100, leaseMs));
    }
    if (claim.outcome !== 'claimed') {
      log(
        `[skip] ${label}: ${claim.outcome === 'ended' ? 'it has ended already' : 'no longer on the queue'}`,
      );
      return { skipped: claim.outcome };
    }
    const { epoch } = claim;
    let validUntil = performance.now() + leaseMs;

    // The run's folder as the store holds it, in a scratch folder of its own.
    const dir = join(scratchRoot, key.replace(/[^A-Za-z0-9._=+-]/g, '_'));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const resume = claim.files.some((f) => f.path === 'checkpoints/latest.json');
    let hasFiles = claim.files.length > 0;
    if (resume) {
      for (const f of claim.files) {
        mkdirSync(dirname(join(dir, f.path)), { recursive: true });
        writeFileSync(join(dir, f.path), f.data);
      }
    } else if (hasFiles) {
      // No checkpoint: the run starts again from scratch, as a local run does; nothing of the
      // earlier attempt stays.
      if (!(await store.sync(key, epoch, [{ op: 'reset' }], []))) {
        summary.superseded++;
        return { superseded: true };
      }
      hasFiles = false;
    }
    const task: RunTask = {
      ...data.task,
      dir,
      mode: resume ? 'resume' : 'fresh',
      reportDir: data.reportDir,
    };
    const backendRef = flattenRef(spec.backend);
    const setup: ChildSetup = {
      registryModule: options.registryModule,
      plugins: spec.plugins,
      baseDir: pluginDir,
      backend:
        options.backend && spec.backend.name === 'auto' ? { name: options.backend } : backendRef,
      analysisWorkers,
      worker: name,
    };
    const started = performance.now();
    let lastStep = 0;
    let superseded = false;
    let paused = false;
    let p: RunProcess | undefined;

    // Writes go one after another, in order; a refused one means another worker has the run.
    let writes: Promise<unknown> = Promise.resolve();
    // A write that fails (not refused: an error) stops this attempt; BullMQ tries the job
    // again, and the next attempt resumes from what the store holds.
    let broken: unknown;
    const write = (ops: FileOp[], events: ExperimentEvent[]) => {
      writes = writes.then(async () => {
        if (superseded || broken) return;
        try {
          if (!(await store.sync(key, epoch, ops, events))) lose('its output was refused');
        } catch (error) {
          broken = error;
          log(
            `[error] ${label}: cannot write to Redis: ${error instanceof Error ? error.message : String(error)}; stopped here, to be tried again`,
          );
          if (p) discard(p);
          stopRun();
        }
      });
      return writes;
    };
    let stopRun = () => {};
    let lose = (why: string) => {
      if (superseded) return;
      superseded = true;
      log(`[lost] ${label}: another worker has taken it over (${why}); stopped here`);
      if (p) discard(p);
    };

    // The lease: renewed often; the run pauses before it could expire unrenewed.
    let renewing = false;
    const renew = setInterval(() => {
      if (renewing || superseded) return;
      renewing = true;
      const asked = performance.now();
      store.renew(key, epoch, leaseMs).then(
        (ok) => {
          renewing = false;
          if (!ok) return lose('its lease was taken');
          validUntil = asked + leaseMs;
          if (paused && p) {
            paused = false;
            p.child.kill('SIGCONT');
            log(`[continue] ${label}: lease renewed; continuing`);
          }
        },
        () => {
          renewing = false;
        },
      );
    }, leaseMs / 6);
    const watchdog = setInterval(() => {
      if (paused || superseded || !p) return;
      if (performance.now() > validUntil - leaseMs / 3) {
        paused = true;
        p.child.kill('SIGSTOP');
        log(
          `[pause] ${label}: its lease cannot be renewed (Redis unreachable?); paused until it is`,
        );
      }
    }, 100);

    /** Records a failure that happened outside executeRun (a process that died, a bad setup). */
    const fail = async (error: SerializedError): Promise<RunResult> => {
      const result: RunResult = {
        id: data.task.plan.id,
        label,
        dir: data.reportDir,
        status: 'failed',
        steps: lastStep,
        wallMs: performance.now() - started,
        error: error.message,
      };
      const ops: FileOp[] = [
        ...(hasFiles
          ? []
          : [{ op: 'write', path: 'spec.json', data: json(runSpecToJson(spec)) } as FileOp]),
        ...failureFiles(result, error),
      ];
      await write(ops, []);
      return result;
    };

    try {
      let result: RunResult;
      p = acquire(setup);
      try {
        await p.ready;
      } catch (error) {
        discard(p);
        p = undefined;
        const e = error as SerializedError;
        log(`[failed] ${label}: ${e.message}`);
        result = await fail(e);
        await writes;
        if (broken) throw broken;
        if (superseded) {
          summary.superseded++;
          return { superseded: true };
        }
        await finish(result);
        return { status: result.status };
      }
      const proc = p;
      log(`[run] ${label}${resume ? ', resuming from its checkpoint' : ''}`);
      result = await new Promise<RunResult>((resolveRun) => {
        proc.onMessage = (message) => {
          if (message.type === 'sync') {
            for (const e of message.events) if (e.type === 'progress') lastStep = e.step;
            void write(message.ops, message.events);
          } else if (message.type === 'done') {
            resolveRun(message.result);
          }
        };
        proc.onExit = (code, signal) => {
          proc.onExit = undefined;
          proc.onMessage = undefined;
          if (superseded) return resolveRun({ status: 'interrupted' } as RunResult);
          void fail({
            code: 'WORKER_FAILED',
            message: `the process executing this run on worker ${name} exited (${signal ? `signal ${signal}` : `code ${code}`}); running the spec again resumes it from its last checkpoint`,
          }).then(resolveRun);
        };
        lose = ((inner) => (why: string) => {
          inner(why);
          resolveRun({ status: 'interrupted' } as RunResult);
        })(lose);
        stopRun = () => resolveRun({ status: 'interrupted' } as RunResult);
        proc.child.send({
          type: 'run',
          task,
          checkpoint: data.checkpoint,
          ...(data.specFile ? { specFile: data.specFile } : {}),
        } satisfies ToChild);
        if (stopping) proc.child.send({ type: 'stop' } satisfies ToChild);
      });
      await writes;
      if (p && p.onMessage) {
        p.onMessage = undefined;
        p.onExit = undefined;
        p.busy = false;
      }
      if (superseded) {
        summary.superseded++;
        return { superseded: true };
      }
      if (broken) throw broken;
      if (result.status === 'interrupted') {
        // Stopped on request (the worker is stopping): back to the queue, to resume elsewhere.
        await store.release(key, epoch);
        summary.givenBack++;
        log(
          `[give back] ${label}: stopped at step ${result.steps} (checkpoint saved); back on the queue`,
        );
        await job.moveToWait(token);
        throw new WaitingError();
      }
      await finish(result);
      return { status: result.status };
    } finally {
      clearInterval(renew);
      clearInterval(watchdog);
      rmSync(dir, { recursive: true, force: true });
    }

    async function finish(result: RunResult): Promise<void> {
      const event = { type: 'run-end', runId: data.task.plan.id, label, result };
      if (!(await store.end(key, epoch, result, event))) {
        lose('the end was refused');
        summary.superseded++;
        return;
      }
      summary.ended++;
      const seconds = (result.wallMs / 1000).toFixed(1);
      log(`[${result.status}] ${label} in ${seconds} s${result.error ? `: ${result.error}` : ''}`);
    }
  };

  const connection = bullmqConnection(target);
  const worker = new Worker(QUEUE_NAME, processor, {
    connection,
    prefix,
    concurrency,
    lockDuration: stallMs,
    stalledInterval: stallMs,
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
    `worker ${name}: ${concurrency} run(s) at once from ${target.shown} (queue ${prefix}); scratch folders in ${scratchRoot}`,
  );
  const stopped = new Promise<void>((resolveStop) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      log(`worker ${name}: stopping; runs save a checkpoint and go back to the queue`);
      for (const p of processes) if (p.busy) p.child.send({ type: 'stop' } satisfies ToChild);
      resolveStop();
    };
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener('abort', stop, { once: true });
  });
  void worker.run().catch((error: unknown) => log(`queue: ${String(error)}`));
  await stopped;
  await worker.close();
  for (const p of [...processes]) {
    if (p.child.connected) p.child.send({ type: 'exit' } satisfies ToChild);
  }
  rmSync(scratchRoot, { recursive: true, force: true });
  redis.disconnect();
  return summary;
}

/** A queue handle for tests and tools: the BullMQ queue the workers take runs from. */
export function openQueue(url: string, queueName = 'tdx'): Queue {
  return new Queue(QUEUE_NAME, {
    connection: bullmqConnection(parseRedisUrl(url)),
    prefix: queueName,
  });
}
