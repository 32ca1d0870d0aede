/**
 * Runs spread over worker processes, one TF.js engine each (TF.js computes on one thread per
 * process in Node, so processes are how a sweep uses every core). A run that fails fails
 * alone; a worker that dies takes only its current run with it and is replaced.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { childEnvironment } from './thread-budget.js';
import { join } from 'node:path';
import type { TdxError } from '../errors.js';
import type { EventListener, RunResult } from '../events.js';
import { writeJsonAtomic } from '../run-directory.js';
import type { ExecutedRun, RunTask } from '../run-executor.js';
import type { RunSource } from '../run-source.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';
import { deserializeError as toError } from './serialized-error.js';

export interface PoolOptions {
  workers: number;
  init: WorkerInit;
  emit: EventListener;
  /** Polled while runs go on: true asks every worker to checkpoint its run and stop. */
  shouldStop: () => boolean;
  /** The worker's script: one that calls serveRunWorker with the caller's registry. */
  workerScript: string;
}

/** The result of a run whose worker process died: recorded on disk like any failure. */
function workerDied(task: RunTask, code: number | null, signal: string | null): RunResult {
  const result: RunResult = {
    id: task.plan.id,
    label: task.plan.label,
    dir: task.dir,
    status: 'failed',
    steps: 0,
    wallMs: 0,
    error: `the worker process running this run exited (${signal ? `signal ${signal}` : `code ${code}`}); running the spec again resumes it from its last checkpoint`,
  };
  try {
    writeJsonAtomic(join(task.dir, 'error.json'), {
      message: result.error,
      code: 'WORKER_FAILED',
    });
    writeJsonAtomic(join(task.dir, 'result.json'), result);
  } catch (error) {
    // A full disk: the failure is still reported, in the events and the exit code.
    result.error = `${result.error} (its error.json could not be written: ${error instanceof Error ? error.message : String(error)})`;
  }
  return result;
}

/**
 * Runs the tasks `source` hands out on `options.workers` processes. The source claims each
 * run before handing it out; a run's claim is given up when its worker reports it done or dies.
 */
export function runInPool(source: RunSource, options: PoolOptions): Promise<ExecutedRun[]> {
  const tasks: RunTask[] = [];
  const results = new Map<RunTask, ExecutedRun>();
  const script = options.workerScript;
  let fatal: TdxError | undefined;
  let stopping = false;
  let live = 0;

  return new Promise((resolve, reject) => {
    const finish = () => {
      clearInterval(poll);
      if (fatal) reject(fatal);
      else resolve(tasks.filter((t) => results.has(t)).map((t) => results.get(t)!));
    };
    const poll = setInterval(() => {
      if (!stopping && options.shouldStop()) {
        stopping = true;
        for (const w of workers) if (w.current) w.child.send({ type: 'stop' } satisfies ToWorker);
      }
    }, 50);

    interface Worker {
      child: ChildProcess;
      current?: RunTask;
    }
    const workers = new Set<Worker>();

    let exhausted = false;
    const next = async (worker: Worker) => {
      worker.current = undefined;
      const task = stopping || fatal || exhausted ? undefined : await source.next();
      if (!task) exhausted = true;
      if (!task || stopping || fatal || !worker.child.connected) {
        if (task) source.finished(task);
        if (worker.child.connected) worker.child.send({ type: 'exit' } satisfies ToWorker);
        return;
      }
      tasks.push(task);
      worker.current = task;
      worker.child.send({ type: 'run', task } satisfies ToWorker);
    };

    const start = () => {
      const child = fork(script, [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        // options.workers is already the number of processes that run at once.
        env: childEnvironment(options.workers),
      });
      const worker: Worker = { child };
      workers.add(worker);
      live++;
      child.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            void next(worker);
            break;
          case 'init-error':
            fatal ??= toError(message.error);
            child.send({ type: 'exit' } satisfies ToWorker);
            break;
          case 'event':
            options.emit(message.event);
            break;
          case 'done':
            results.set(worker.current!, {
              ...message.result,
              ...(message.fatal ? { fatal: toError(message.fatal) } : {}),
            });
            if (message.fatal) fatal ??= toError(message.fatal);
            source.finished(worker.current!);
            void next(worker);
            break;
        }
      });
      child.on('exit', (code, signal) => {
        workers.delete(worker);
        live--;
        const task = worker.current;
        if (task && !results.has(task)) {
          const result = workerDied(task, code, signal);
          results.set(task, result);
          source.finished(task);
          options.emit({ type: 'run-end', runId: task.plan.id, label: task.plan.label, result });
          if (!exhausted && !stopping && !fatal) start(); // replace the lost worker
        }
        if (live === 0) finish();
      });
      child.send({ type: 'init', init: options.init } satisfies ToWorker);
    };

    const count = Math.max(1, options.workers);
    for (let i = 0; i < count; i++) start();
  });
}
