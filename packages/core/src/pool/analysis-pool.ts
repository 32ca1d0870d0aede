/**
 * Worker processes for the parts of one run's analyses (SLQ probes and blocks, for instance):
 * each rebuilds the run's dataset, model and trainer once, then computes parts as they come.
 * Started when an analysis first splits, closed when the run ends.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { childEnvironment } from './thread-budget.js';
import { TdxError } from '../errors.js';
import type { RunSpec } from '../spec/schema.js';
import type { FromAnalysisWorker, PartRequest, ToAnalysisWorker } from './analysis-protocol.js';
import { deserializeError } from './serialized-error.js';
import type { WorkerRegistrySetup } from './worker-registry.js';

export interface AnalysisWorkerSetup extends WorkerRegistrySetup {
  /** Worker processes to start (at most one per part). */
  count: number;
  /** The worker's script: one that calls serveAnalysisWorker with the caller's registry. */
  workerScript: string;
}

export interface AnalysisPool {
  /** Computes parts 0..parts-1 of one evaluation; results in order. */
  map(request: PartRequest, parts: number): Promise<unknown[]>;
  /** The processes a map over this many parts uses. */
  size(parts: number): number;
  close(): void;
}

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
}

export function openAnalysisPool(setup: AnalysisWorkerSetup, spec: RunSpec): AnalysisPool {
  const { count, workerScript, ...registrySetup } = setup;
  const workers: Worker[] = [];
  let nextId = 0;
  // Part id -> its promise's settlers; a worker's death fails the parts it held.
  const pending = new Map<
    number,
    { worker: Worker; settle: (r: { result?: unknown; error?: Error }) => void }
  >();
  let closed = false;

  const start = (): Worker => {
    const child = fork(workerScript, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: childEnvironment(count),
    });
    let resolveReady!: () => void;
    let rejectReady!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    ready.catch(() => {}); // handled where it is awaited; a worker never used must not crash us
    const worker: Worker = { child, ready };
    child.on('message', (message: FromAnalysisWorker) => {
      if (message.type === 'ready') resolveReady();
      else if (message.type === 'init-error') rejectReady(deserializeError(message.error));
      else {
        const entry = pending.get(message.id);
        pending.delete(message.id);
        if (message.type === 'part-done') entry?.settle({ result: message.result });
        else entry?.settle({ error: deserializeError(message.error) });
      }
    });
    child.on('exit', (code, signal) => {
      const error = new TdxError(
        'WORKER_FAILED',
        `an analysis worker process exited (${signal ? `signal ${signal}` : `code ${code}`})`,
      );
      rejectReady(error);
      for (const [id, entry] of pending)
        if (entry.worker === worker) {
          pending.delete(id);
          entry.settle({ error });
        }
    });
    child.send({ type: 'init', init: { ...registrySetup, spec } } satisfies ToAnalysisWorker);
    return worker;
  };

  const compute = (worker: Worker, request: PartRequest, index: number): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (closed || worker.child.exitCode !== null)
        return reject(new TdxError('WORKER_FAILED', 'the analysis worker is gone'));
      const id = nextId++;
      pending.set(id, {
        worker,
        settle: ({ result, error }) => (error ? reject(error) : resolve(result)),
      });
      worker.child.send({ type: 'part', id, request, index } satisfies ToAnalysisWorker);
    });

  return {
    async map(request, parts) {
      while (workers.length < Math.min(count, parts)) workers.push(start());
      const results: unknown[] = new Array(parts);
      let next = 0;
      let failed = false;
      // Each worker takes the next part as soon as it is free; after a failure, none does.
      await Promise.all(
        workers.slice(0, Math.min(count, parts)).map(async (worker) => {
          try {
            await worker.ready;
            while (next < parts && !failed) {
              const index = next++;
              results[index] = await compute(worker, request, index);
            }
          } catch (error) {
            failed = true;
            throw error;
          }
        }),
      );
      return results;
    },
    size: (parts) => Math.min(count, parts),
    close() {
      closed = true;
      for (const w of workers) {
        if (w.child.exitCode === null && w.child.connected)
          w.child.send({ type: 'exit' } satisfies ToAnalysisWorker);
      }
    },
  };
}
