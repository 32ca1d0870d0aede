/**
 * What travels: the job a submitter puts on the queue (data only: a resolved run spec and where
 * the submitter keeps its folder, never code or credentials), and the messages between a worker
 * and the process that executes a run for it (IPC with the `advanced` serialization, so file
 * contents go as Buffers).
 */
import type {
  BackendInfo,
  CheckpointPolicy,
  ExperimentEvent,
  RunResult,
  RunTask,
  SerializedError,
} from '@tdx/core';
import type { FileOp } from './store.js';

/** The BullMQ queue's name (inside the `--queue-name` prefix). */
export const QUEUE_NAME = 'runs';

/** The data of one job: one run of a submitted spec. */
export interface RunJob {
  /** Format of this object, so that a worker refuses what it does not understand. */
  format: 'tdx-run-job/1';
  /** The key of the run in the store (also the job's id): `<spec name>~<run id>`. */
  key: string;
  /** The run: its resolved spec and identity. No code: plugin modules are named, not sent. */
  task: Omit<RunTask, 'dir' | 'mode'>;
  /** The submitter's folder for the run, as results report it (not used for writing). */
  reportDir: string;
  checkpoint: CheckpointPolicy;
  /** The submitter's spec file, recorded in run.json as a local run records it. */
  specFile?: string;
}

/** How a run process builds its registry and backend (it is reused while this stays the same). */
export interface ChildSetup {
  plugins: string[];
  /** Where relative plugin paths (and packages) are resolved from, on the worker. */
  baseDir: string;
  /** The backend reference, flattened: `{ name, label, ...config }`. */
  backend: Record<string, unknown>;
  /** Processes per run for analyses that split into parts (1: none). */
  analysisWorkers: number;
  /** Their script (see core's serveAnalysisWorker); needed when analysisWorkers > 1. */
  analysisWorkerScript?: string;
  /** Name of the worker, for messages. */
  worker: string;
}

/** Errors across the IPC channel: core's form (code, problems, hint, stack). */
export type { SerializedError };

export type ToChild =
  | { type: 'init'; setup: ChildSetup }
  | { type: 'run'; task: RunTask; checkpoint: CheckpointPolicy; specFile?: string }
  | { type: 'stop' }
  | { type: 'exit' };

export type FromChild =
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'init-error'; error: SerializedError }
  /** The run folder's changes since the last sync, and the events since then. */
  | { type: 'sync'; ops: FileOp[]; events: ExperimentEvent[] }
  | { type: 'done'; result: RunResult };
