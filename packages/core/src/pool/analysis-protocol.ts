/** Messages between a run and its analysis worker processes (JSON over the IPC channel). */
import type { AnalysisContext } from '../contracts.js';
import type { RunSpec } from '../spec/schema.js';
import type { SerializedError } from './protocol.js';
import type { WorkerRegistrySetup } from './worker-registry.js';

export interface AnalysisWorkerInit extends WorkerRegistrySetup {
  /** The run whose dataset, model and trainer the worker rebuilds. */
  spec: RunSpec;
}

export interface PartRequest {
  analysisIndex: number;
  ctx: AnalysisContext;
  shared: unknown;
}

export type ToAnalysisWorker =
  | { type: 'init'; init: AnalysisWorkerInit }
  | { type: 'part'; id: number; request: PartRequest; index: number }
  | { type: 'exit' };

export type FromAnalysisWorker =
  | { type: 'ready' }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'part-done'; id: number; result: unknown }
  | { type: 'part-error'; id: number; error: SerializedError };
