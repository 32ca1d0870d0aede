/**
 * A worker process: one TF.js engine, runs handed to it one at a time by the parent. Its
 * script is the caller's (the tdx command's `processes/run-worker.js`), which calls
 * serveRunWorker with its registry; process-pool.ts starts it with child_process.fork.
 */
import type { BackendInfo } from '../contracts.js';
import type { Registry } from '../registry.js';
import { executeRun } from '../run-executor.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';
import { serializeError as serialize } from './serialized-error.js';
import { openWorkerRegistry, type RegistryFactory } from './worker-registry.js';

const send = (message: FromWorker): void => {
  process.send?.(message);
};

/** Serves the parent's runs in this process until it says exit (or goes). */
export function serveRunWorker(createRegistry: RegistryFactory): void {
  let registry: Registry | undefined;
  let init: WorkerInit | undefined;
  let backendInfo: BackendInfo | undefined;
  let stopRequested = false;

  // A Ctrl-C in the terminal (or a scheduler's SIGTERM to the job) reaches every process of the
  // group: the parent decides what happens, so here it only asks the current run to checkpoint
  // and stop.
  process.on('SIGINT', () => {
    stopRequested = true;
  });
  process.on('SIGTERM', () => {
    stopRequested = true;
  });

  // If the parent dies (even by SIGKILL), the IPC channel closes: stop rather than keep writing
  // into folders a later `tdx run` will resume. Every file is written atomically, so exiting
  // between steps leaves nothing half-written.
  process.on('disconnect', () => process.exit(1));

  async function initialise(message: WorkerInit): Promise<void> {
    try {
      ({ registry, backend: backendInfo } = await openWorkerRegistry(createRegistry, message));
      init = message;
      send({ type: 'ready', backend: backendInfo });
    } catch (error) {
      send({ type: 'init-error', error: serialize(error) });
    }
  }

  process.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'init':
        void initialise(message.init);
        break;
      case 'run':
        stopRequested = false;
        void executeRun(message.task, {
          registry: registry!,
          backend: backendInfo!,
          emit: (event) => send({ type: 'event', event }),
          checkpoint: init!.checkpoint,
          shouldStop: () => stopRequested,
          ...(init!.specFile ? { specFile: init!.specFile } : {}),
          ...(init!.analysisWorkers > 1
            ? {
                analysisWorkers: {
                  count: init!.analysisWorkers,
                  workerScript: init!.analysisWorkerScript!,
                  plugins: init!.plugins,
                  baseDir: init!.baseDir,
                  backend: init!.backend,
                },
              }
            : {}),
        }).then(
          ({ fatal, ...result }) =>
            send({ type: 'done', result, ...(fatal ? { fatal: serialize(fatal) } : {}) }),
          // executeRun records its own failures; this is a last resort that keeps the worker up.
          (error: unknown) =>
            send({
              type: 'done',
              result: {
                id: message.task.plan.id,
                label: message.task.plan.label,
                dir: message.task.dir,
                status: 'failed',
                steps: 0,
                wallMs: 0,
                error: error instanceof Error ? error.message : String(error),
              },
            }),
        );
        break;
      case 'stop':
        stopRequested = true;
        break;
      case 'exit':
        process.exit(0);
        break;
    }
  });
}
