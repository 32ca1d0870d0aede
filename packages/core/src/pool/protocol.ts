/** Messages between the parent and its worker processes (JSON over the IPC channel). */
import type { BackendInfo } from '../contracts.js';
import type { Problem, TdxErrorCode } from '../errors.js';
import type { ExperimentEvent, RunResult } from '../events.js';
import type { CheckpointPolicy, RunTask } from '../run-executor.js';
import type { WorkerRegistrySetup } from './worker-registry.js';

export interface WorkerInit extends WorkerRegistrySetup {
  checkpoint: CheckpointPolicy;
  specFile?: string;
  /** Analysis workers each run may start (1: none, analyses in the run's process). */
  analysisWorkers: number;
  /** Their script (see serveAnalysisWorker); needed when analysisWorkers > 1. */
  analysisWorkerScript?: string;
}

export interface SerializedError {
  code?: TdxErrorCode;
  message: string;
  problems?: Problem[];
  hint?: string;
  /** Where it was thrown, for a failure record (not shown to users by default). */
  stack?: string;
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
