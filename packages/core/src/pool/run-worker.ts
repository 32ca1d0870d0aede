/**
 * A worker process: one TF.js engine, runs handed to it one at a time by the parent. Its
 * script is the caller's (the tdx command's `processes/run-worker.js`), which calls
 * serveRunWorker with its registry; process-pool.ts starts it with child_process.fork.
 */
import type { BackendInfo } from '../contracts.js';
import type { Registry } from '../registry.js';
import { executeRun, type RunContext, type RunTask } from '../run-executor.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';
import { serializeError as serialize } from './serialized-error.js';
import { openWorkerRegistry, type RegistryFactory } from './worker-registry.js';

const send = (message: FromWorker): void => {
  process.send?.(message);
};

/** What the process holds between messages. */
interface WorkerState {
  createRegistry: RegistryFactory;
  /** Set once the parent's setup is done: the registry, backend and setup runs use. */
  ready?: { registry: Registry; backend: BackendInfo; init: WorkerInit };
  stopRequested: boolean;
}

async function initialise(state: WorkerState, init: WorkerInit): Promise<void> {
  try {
    const { registry, backend } = await openWorkerRegistry(state.createRegistry, init);
    state.ready = { registry, backend, init };
    send({ type: 'ready', backend });
  } catch (error) {
    send({ type: 'init-error', error: serialize(error) });
  }
}

/** What executeRun needs here: the registry and backend, the parent's setup, the stop flag. */
function runContext(state: WorkerState): RunContext {
  const { registry, backend, init } = state.ready!;
  return {
    registry,
    backend,
    emit: (event) => send({ type: 'event', event }),
    checkpoint: init.checkpoint,
    shouldStop: () => state.stopRequested,
    ...(init.specFile ? { specFile: init.specFile } : {}),
    ...(init.analysisWorkers > 1
      ? {
          analysisWorkers: {
            count: init.analysisWorkers,
            workerScript: init.analysisWorkerScript!,
            plugins: init.plugins,
            baseDir: init.baseDir,
            backend: init.backend,
          },
        }
      : {}),
  };
}

/** Executes one run and reports its result to the parent. */
function run(state: WorkerState, task: RunTask): void {
  state.stopRequested = false;
  void executeRun(task, runContext(state)).then(
    ({ fatal, ...result }) =>
      send({ type: 'done', result, ...(fatal ? { fatal: serialize(fatal) } : {}) }),
    // executeRun records its own failures; this is a last resort that keeps the worker up.
    (error: unknown) =>
      send({
        type: 'done',
        result: {
          id: task.plan.id,
          label: task.plan.label,
          dir: task.dir,
          status: 'failed',
          steps: 0,
          wallMs: 0,
          error: error instanceof Error ? error.message : String(error),
        },
      }),
  );
}

/** Serves the parent's runs in this process until it says exit (or goes). */
export function serveRunWorker(createRegistry: RegistryFactory): void {
  const state: WorkerState = { createRegistry, stopRequested: false };
  // A Ctrl-C in the terminal (or a scheduler's SIGTERM to the job) reaches every process of the
  // group: the parent decides what happens, so here it only asks the current run to checkpoint
  // and stop.
  process.on('SIGINT', () => {
    state.stopRequested = true;
  });
  process.on('SIGTERM', () => {
    state.stopRequested = true;
  });
  // If the parent dies (even by SIGKILL), the IPC channel closes: stop rather than keep writing
  // into folders a later `tdx run` will resume. Every file is written atomically, so exiting
  // between steps leaves nothing half-written.
  process.on('disconnect', () => process.exit(1));
  process.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'init':
        void initialise(state, message.init);
        break;
      case 'run':
        run(state, message.task);
        break;
      case 'stop':
        state.stopRequested = true;
        break;
      case 'exit':
        process.exit(0);
        break;
    }
  });
}
