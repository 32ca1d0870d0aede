/** Messages between the parent and its worker processes (JSON over the IPC channel). */
import type { BackendInfo } from '../contracts.js';
import type { Problem, TdxErrorCode } from '../errors.js';
import type { ExperimentEvent, RunResult } from '../events.js';
import type { CheckpointPolicy, RunTask } from '../run-executor.js';

export interface WorkerInit {
  /**
   * A module (path, file URL or package) exporting `createRegistry()` (or a default function)
   * that returns the registry with the built-in plugins. Registries cannot cross processes,
   * so each worker builds its own.
   */
  registryModule: string;
  /** The spec's own plugin modules, and the folder they are resolved from. */
  plugins: string[];
  baseDir: string;
  /** The backend reference, flattened: `{ name, label, ...config }`. */
  backend: Record<string, unknown>;
  checkpoint: CheckpointPolicy;
  specFile?: string;
}

export interface SerializedError {
  code?: TdxErrorCode;
  message: string;
  problems?: Problem[];
  hint?: string;
}

export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'run'; task: RunTask }
  | { type: 'stop' }
  | { type: 'exit' };

export type FromWorker =
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'event'; event: ExperimentEvent }
  | { type: 'done'; result: RunResult; fatal?: SerializedError };
