/**
 * An experiment as it lies on disk, read back: what reporters and `tdx report` work from.
 * Everything here is plain JSON data; no tensors, no plugin instances.
 */
import type { BackendInfo } from './contracts.js';
import type { MetricsRecord, RunResult } from './events.js';

/** The content of analyses/<label>.json. */
export interface AnalysisFile {
  analysis: string;
  label: string;
  config: Record<string, unknown>;
  every?: number;
  at?: number[];
  /** One record per evaluation: the step, the headline value when there is one, and the data. */
  records: Array<{ step: number; value?: number; [key: string]: unknown }>;
}

/** Where a run sits in its experiment: what distinguishes it from the other runs. */
export interface RunIdentity {
  id: string;
  /** e.g. `adam_lr=0.01_seed=1`. */
  label: string;
  /** The label without the seed: runs of one group differ only by their seed. */
  group: string;
  seed: number;
  /** Label of the run's model and optimizer. */
  model: string;
  optimizer: string;
  /** The value each sweep axis takes in this run, by path (`optimizer.lr`). */
  sweep: Record<string, unknown>;
  /** The value each tuned config path of its optimizer takes (`lr`), when the spec tunes it. */
  tune?: Record<string, unknown>;
}

export interface RunData extends RunIdentity {
  dir: string;
  /** The run's resolved spec (spec.json): a valid spec that reproduces this run. */
  spec: Record<string, unknown>;
  /** result.json; undefined while the run is unfinished or after a crash. */
  result?: RunResult;
  /** run.json: provenance (backend, versions, start time). */
  info: Record<string, unknown>;
  metrics: MetricsRecord[];
  /** Analysis files by label. */
  analyses: Record<string, AnalysisFile>;
  /**
   * What could not be read: a damaged line of metrics.jsonl (with its line number), a damaged
   * JSON file. The data above leaves these out; reports say so.
   */
  unreadable?: Array<{ file: string; line?: number; reason: string }>;
}

export interface ExperimentData {
  name: string;
  dir: string;
  /** The experiment's resolved spec (experiment.json), sweeps and seeds included. */
  spec: Record<string, unknown>;
  backend?: BackendInfo;
  runs: RunData[];
}
