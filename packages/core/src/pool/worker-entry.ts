/**
 * A worker process: one TF.js engine, runs handed to it one at a time by the parent.
 * Started by process-pool.ts with child_process.fork.
 */
import type { BackendInstance } from '../contracts.js';
import { isTdxError } from '../errors.js';
import { loadPluginModules } from '../plugin-loader.js';
import type { Registry } from '../registry.js';
import { executeRun } from '../run-executor.js';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol.js';

const send = (message: FromWorker): void => {
  process.send?.(message);
};

function serialize(error: unknown): SerializedError {
  if (isTdxError(error))
    return {
      code: error.code,
      message: error.message,
      problems: error.problems,
      ...(error.hint ? { hint: error.hint } : {}),
    };
  return { message: error instanceof Error ? error.message : String(error) };
}

let registry: Registry | undefined;
let init: WorkerInit | undefined;
let backendInfo: Awaited<ReturnType<BackendInstance['activate']>> | undefined;
let stopRequested = false;

// A Ctrl-C in the terminal reaches every process of the group: the parent decides what
// happens, so here it only asks the current run to checkpoint and stop.
process.on('SIGINT', () => {
  stopRequested = true;
});

// If the parent dies (even by SIGKILL), the IPC channel closes: stop rather than keep writing
// into folders a later `tdx run` will resume. Every file is written atomically, so exiting
// between steps leaves nothing half-written.
process.on('disconnect', () => process.exit(1));

async function initialise(message: WorkerInit): Promise<void> {
  try {
    const module = (await import(message.registryModule)) as Record<string, unknown>;
    const make = (module.createRegistry ?? module.default) as
      (() => Registry | Promise<Registry>) | undefined;
    if (typeof make !== 'function')
      throw new Error(`${message.registryModule} exports no createRegistry()`);
    registry = (await make()).child();
    const problems = await loadPluginModules(message.plugins, registry, message.baseDir);
    if (problems.length > 0)
      throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    backendInfo = await registry
      .create<BackendInstance>('backend', message.backend, { path: 'backend' })
      .activate();
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
      }).then(({ fatal, ...result }) =>
        send({ type: 'done', result, ...(fatal ? { fatal: serialize(fatal) } : {}) }),
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
