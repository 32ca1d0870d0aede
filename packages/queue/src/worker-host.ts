/** What a worker's job processor shares across the runs it executes. */
import type { RunProcessPool } from './run-processes.js';
import type { RunStore } from './store.js';

/** What a worker did, when it stops. */
export interface QueueWorkerSummary {
  /** Runs that ended here (completed, diverged or failed). */
  ended: number;
  /** Runs stopped here and given back to the queue (the worker was stopping). */
  givenBack: number;
  /** Runs another worker took over while this one held them (their output was refused). */
  superseded: number;
}

export interface WorkerHost {
  /** This worker's name in messages and in the store. */
  name: string;
  log: (line: string) => void;
  store: RunStore;
  processes: RunProcessPool;
  summary: QueueWorkerSummary;
  /** The run lease and BullMQ's lock duration. */
  leaseMs: number;
  /** Holds one scratch folder per run under way. */
  scratchRoot: string;
  /** The script of analysis worker processes, when runs may split their analyses. */
  analysisWorkerScript?: string;
  /** Where the spec's plugin modules are resolved from. */
  pluginDir: string;
  /** The backend for runs whose spec says `auto`. */
  backend: string | undefined;
  analysisWorkers: number;
  /** True once the worker is stopping: no new claims, runs go back to the queue. */
  stopping: boolean;
}
