/**
 * The contracts the pipeline relies on. The core knows nothing of tensors: the models,
 * datasets and optimizers it creates are opaque here, and a `trainer` plugin (from
 * @tdx/tensor, or your own) is what turns them into training steps.
 */
import type { SessionCheckpoint } from './checkpoint.js';
import type { AnalysisFile, ExperimentData, RunIdentity } from './experiment-data.js';

import type { FigureSpec } from './figures.js';
import type { Registry } from './registry.js';

/**
 * What a training session hands to analyses, declared by the package whose trainer makes it:
 * @tdx/tensor adds `interface AnalysisTargets { tensor: AnalysisTarget }` by declaration
 * merging, so analyses' `run(target)` receives an AnalysisTarget. Opaque (unknown) to a
 * program that loads no such package.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AnalysisTargets {}

/** The target analyses receive: the AnalysisTargets entries, or unknown when there are none. */
export type RunTarget = keyof AnalysisTargets extends never
  ? unknown
  : AnalysisTargets[keyof AnalysisTargets];

/** Instance of a `backend` plugin: makes one numeric backend the active one. */
export interface BackendInstance {
  /** Makes the backend active (process-wide) and says what is running. */
  activate(): Promise<BackendInfo>;
  /**
   * Optional: why the backend cannot run on this machine (not installed, not built), found
   * without activating it; undefined when it can. `tdx validate` and runs check it first.
   */
  unavailable?(): string | undefined;
}

export interface BackendInfo {
  name: string;
  /** Free-form facts worth recording with results (versions, SIMD, threads). */
  details?: Record<string, unknown>;
}

/** What a trainer gets to start a run: the created plugin instances, opaque to the core. */
export interface TrainerParts {
  dataset: unknown;
  model: unknown;
  optimizer: unknown;
  /** The run's seed (the spec's seed). */
  seed: number;
  /** Total number of updates the run will make. */
  steps: number;
}

/** Instance of a `trainer` plugin. */
export interface TrainerInstance {
  start(parts: TrainerParts): TrainingSession | Promise<TrainingSession>;
}

/** One run in progress. Step t is "the parameters after t updates". */
export interface TrainingSession {
  /** Loss of training batch `step` at the current parameters; then one update. */
  step(step: number): number;
  /** Loss of training batch `step` at the current parameters, without updating. */
  loss(step: number): number;
  /** Loss on the dataset's fixed evaluation batch, or undefined when it has none. */
  evalLoss(): number | undefined;
  /**
   * Optional: numbers describing the current state that are logged with the loss under
   * `optimizer.<key>` (the training time `tau` elapsed, an integrator's step size).
   */
  metrics?(): Record<string, number>;
  /** What analyses receive (for the built-in trainer: an AnalysisTarget of @tdx/tensor). */
  target(): RunTarget;
  /** Releases everything the session holds (parameters, optimizer state, data). */
  dispose(): void;
  /**
   * The state to continue from: parameters, optimizer state, data-stream and RNG state.
   * Optional: without it runs cannot resume and start again from step 0.
   */
  checkpoint?(): SessionCheckpoint;
  /** Continues from a checkpoint taken after `step` updates. */
  restore?(checkpoint: SessionCheckpoint, step: number): void;
}

/** Context of one analysis evaluation. */
export interface AnalysisContext {
  /** The state being analysed (number of updates so far). */
  step: number;
  /** A seed for this evaluation, derived from the spec's seed, the analysis label and the step. */
  seed: number;
}

/** What an analysis returns. */
export interface AnalysisOutput {
  /** The headline number, written to metrics.jsonl under the analysis label. */
  value?: number;
  /** Everything else, written to analyses/<label>.json. Must be JSON-serialisable. */
  data?: Record<string, unknown>;
}

/**
 * An analysis whose work splits into independent parts (SLQ probes, blocks): tdx may compute
 * the parts in worker processes, each with its own TF.js engine, so that every core works. A
 * worker rebuilds the run's dataset, model and trainer from the run's spec (the parameters at
 * their initial values); `plan` puts in `shared` whatever else a part needs (the current
 * parameters). combine(parts computed anywhere) must equal run(); the built-in analyses compute
 * run() that way.
 */
export interface ParallelAnalysis {
  /** The number of parts and the JSON each needs; undefined when this evaluation cannot split. */
  plan(target: RunTarget, ctx: AnalysisContext): { parts: number; shared: unknown } | undefined;
  /** Part `index` (0 ≤ index < parts) on a rebuilt target; returns JSON. */
  part(target: RunTarget, ctx: AnalysisContext, index: number, shared: unknown): unknown;
  /** The output, from every part's result in order (on the run's own target). */
  combine(target: RunTarget, ctx: AnalysisContext, parts: unknown[]): AnalysisOutput;
}

/** Instance of an `analysis` plugin. */
export interface AnalysisInstance {
  run(target: RunTarget, ctx: AnalysisContext): AnalysisOutput | Promise<AnalysisOutput>;
  /** Optional: the same work as independent parts (see ParallelAnalysis). */
  parallel?: ParallelAnalysis;

  /**
   * The figures this analysis draws from its records across runs (optional). Without it,
   * reporters draw the headline value against the step, one line per run group.
   */
  figures?(runs: Array<{ run: RunIdentity; file: AnalysisFile }>): FigureSpec[];
}

/** What a reporter gets besides the data: the registry, to create analysis instances. */
export interface ReportContext {
  registry: Registry;
  /**
   * Records a part of the report that could not be made (an analysis's figures threw): the
   * report is still written without it, and the problem is reported as the reporter's error.
   */
  problem?(message: string): void;
}

/**
 * A part of the experiment's report that a reporter contributes (a comparison across runs,
 * say): the `html` reporter shows the sections of the other reporters of the spec.
 */
export interface ReportSection {
  title: string;
  /** Paragraphs of plain text. */
  paragraphs?: string[];
  /** A table: a header row and rows of cells (numbers are formatted by the page). */
  table?: { columns: string[]; rows: Array<Array<string | number | null>> };
  figures?: FigureSpec[];
}

/** Instance of a `reporter` plugin: writes files into the experiment folder from its data. */
export interface ReporterInstance {
  /** Returns the paths of the files written. */
  report(data: ExperimentData, ctx: ReportContext): Promise<string[]> | string[];
  /** Optional: what this reporter adds to the report page; undefined when it has nothing. */
  section?(data: ExperimentData, ctx: ReportContext): ReportSection | undefined;
}
