/**
 * The process that executes runs for a `tdx worker`, one at a time, with core's executeRun in
 * a scratch folder; after each event the run emits, the folder's changes go to the worker,
 * which writes them to Redis. This process never talks to Redis itself: if the worker goes, so
 * does it (the IPC channel closes), and nothing it computed afterwards can land anywhere.
 *
 * Its script is the caller's (the tdx command's `processes/queue-run-process.js`), which calls
 * serveRunProcess with its registry; worker.ts starts it with child_process.fork
 * (serialization: advanced).
 */
import {
  executeRun,
  serializeError,
  loadPluginModules,
  TdxError,
  type BackendInfo,
  type ExperimentEvent,
  type Registry,
  type RegistryFactory,
} from '@tdx/core';
import { FolderWatch } from './folder-watch.js';
import type { ChildSetup, FromChild, ToChild } from './protocol.js';

/** Changes go out at least this often while a run computes (and at once on key events). */
const SYNC_EVERY_MS = 250;
/** Progress events are thinned to one per run this often (the last one always goes). */
const PROGRESS_EVERY_MS = 1000;
/** Events after which the folder is synced at once: the store can resume from them. */
const URGENT = new Set(['run-start', 'run-resumed', 'checkpoint', 'run-end', 'warning']);

const send = (message: FromChild): void => {
  process.send?.(message);
};

/** What the process holds between messages. */
interface ProcessState {
  createRegistry: RegistryFactory;
  /** Set once the worker's setup is done: the registry and backend its runs use. */
  ready?: { setup: ChildSetup; registry: Registry; backend: BackendInfo };
  stopRequested: boolean;
}

/** Builds the registry, loads the spec's plugins and activates the backend. */
async function initialise(state: ProcessState, s: ChildSetup): Promise<void> {
  try {
    const r = (await state.createRegistry()).child();
    const problems = await loadPluginModules(s.plugins, r, s.baseDir);
    if (problems.length > 0)
      throw new TdxError(
        'PLUGIN_LOAD',
        `worker ${s.worker} cannot load the plugin module(s) the spec lists: ${problems
          .map((p) => p.message)
          .join('; ')}`,
        {
          problems,
          hint:
            'plugin modules never travel with runs: install them on every worker (a package ' +
            'name resolves from the folder `tdx worker` runs in, a path from its --plugin-dir), ' +
            'then run the spec again',
        },
      );
    const info = await r.create('backend', s.backend, { path: 'backend' }).activate();
    state.ready = { setup: s, registry: r, backend: info };
    send({ type: 'ready', backend: info });
  } catch (error) {
    send({ type: 'init-error', error: serializeError(error) });
  }
}

/** Executes one run, sending the folder's changes and the events as they come. */
async function run(state: ProcessState, message: Extract<ToChild, { type: 'run' }>): Promise<void> {
  state.stopRequested = false;
  const { setup: s, registry, backend } = state.ready!;
  const watch = new FolderWatch(message.task.dir);
  watch.baseline();
  let events: ExperimentEvent[] = [];
  let lastSync = performance.now();
  const lastProgress = new Map<string, number>();
  const flush = () => {
    const ops = watch.changes();
    if (ops.length > 0 || events.length > 0) send({ type: 'sync', ops, events });
    events = [];
    lastSync = performance.now();
  };
  const emit = (event: ExperimentEvent) => {
    const now = performance.now();
    if (event.type === 'progress') {
      const last = lastProgress.get(event.runId) ?? -Infinity;
      if (now - last >= PROGRESS_EVERY_MS || event.step >= event.steps) {
        lastProgress.set(event.runId, now);
        events.push(event);
      }
    } else if (event.type === 'metrics') {
      // Only the latest record matters for progress; every record is in metrics.jsonl.
      events = events.filter((e) => e.type !== 'metrics');
      events.push(event);
    } else if (event.type !== 'run-end') {
      // run-end goes out once the worker has recorded the result (store.end).
      events.push(event);
    }
    if (URGENT.has(event.type) || now - lastSync >= SYNC_EVERY_MS) flush();
  };
  const { fatal: _fatal, ...result } = await executeRun(message.task, {
    registry,
    backend,
    emit,
    checkpoint: message.checkpoint,
    shouldStop: () => state.stopRequested,
    ...(message.specFile ? { specFile: message.specFile } : {}),
    ...(s.analysisWorkers > 1
      ? {
          analysisWorkers: {
            count: s.analysisWorkers,
            workerScript: s.analysisWorkerScript!,
            plugins: s.plugins,
            baseDir: s.baseDir,
            backend: s.backend,
          },
        }
      : {}),
  });
  flush();
  send({ type: 'done', result });
}

/** Executes the worker's runs in this process until it says exit (or goes). */
export function serveRunProcess(createRegistry: RegistryFactory): void {
  const state: ProcessState = { createRegistry, stopRequested: false };
  // The worker decides what a signal means; here a run only checkpoints and stops when asked.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  // The worker is gone (even by SIGKILL): stop at once. Only the scratch folder was written.
  process.on('disconnect', () => process.exit(1));
  process.on('message', (message: ToChild) => {
    switch (message.type) {
      case 'init':
        void initialise(state, message.setup);
        break;
      case 'run':
        run(state, message).catch((error: unknown) => {
          // executeRun records its own failures; this is a failure of the sync itself.
          send({
            type: 'done',
            result: {
              id: message.task.plan.id,
              label: message.task.plan.label,
              dir: message.task.reportDir ?? message.task.dir,
              status: 'failed',
              steps: 0,
              wallMs: 0,
              error: `the worker could not follow the run's folder: ${error instanceof Error ? error.message : String(error)}`,
            },
          });
        });
        break;
      case 'stop':
        state.stopRequested = true;
        break;
      case 'exit':
        process.exit(0);
    }
  });
}
