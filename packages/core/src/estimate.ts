/**
 * Sizes bounded before work: what a run will need (memory, work, disk), estimated from its
 * resolved spec alone, against what this machine has. A spec that cannot fit is refused before
 * any run starts (SIZE_LIMIT, exit 2), with the estimate and the limit; `--force-size` (the
 * `forceSize` option) runs it anyway.
 *
 * The estimate is generic: the core never looks at plugin names. Each plugin may give an
 * `estimate(config, ctx)` (see Plugin): a dataset its memory and the shapes a model needs
 * (`data`: input shape, batch size), a model its parameters, activation memory and work per
 * step (from the dataset's estimate), an optimizer its state per parameter. The core adds them:
 *
 *   memory  = parameters × 4 B × (1 value + 2 for gradient and update + optimizer state)
 *             + the memory each plugin estimates (data, batches, activations)
 *   work    = steps × max(the model's FLOP per step / FLOPS_PER_SECOND, MIN_STEP_SECONDS)
 *   disk    = metrics.jsonl (steps / logEvery records) + the checkpoint (twice, while replaced)
 *
 * A plugin without an estimate adds nothing but the per-step floor, so a third-party model is
 * bounded only by the number of steps until it gives an estimate. Estimates are rough (within
 * a few times); the limits are generous, so only sizes that cannot work are refused.
 */
import { statfsSync, existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { PluginKind } from './plugin.js';
import { resolutionOf, type Registry } from './registry.js';
import type { ResolvedPluginRef } from './registry.js';
import type { RunSpec } from './spec/schema.js';

/** What a plugin instance will cost, as its plugin estimates it from the config. */
export interface ResourceEstimate {
  /** Numbers the model trains. */
  parameters?: number;
  /**
   * Bytes held while a run goes on, other than the parameters and their gradients and optimizer
   * state (the core counts those): data, the batches of a step, a step's activations.
   */
  memoryBytes?: number;
  /** Floating-point operations of one training step (forward and backward of one batch). */
  flopsPerStep?: number;
  /** For an optimizer: numbers of state it keeps per parameter (SGD with momentum 1, Adam 2). */
  stateValuesPerParameter?: number;
  /** For a dataset: the shapes of what it will give, which a model's estimate sizes itself by. */
  data?: DataEstimate;
}

/**
 * What a dataset will give, known from its config: the DatasetInfo it will have (task, shapes
 * of one example, meta) and its batch sizes.
 */
export interface DataEstimate {
  task: string;
  inputShape: number[];
  targetShape: number[];
  meta: Record<string, number | string | boolean>;
  batchSize: number;
  evalBatchSize?: number;
}

/** What a plugin's estimate gets besides its config. */
export interface EstimateContext {
  /** Training steps of the run. */
  steps: number;
  /** The dataset's estimate (for a model: its `data` gives the shapes). */
  dataset?: ResourceEstimate;
  /** The model's estimate (for an optimizer or an analysis: its parameters). */
  model?: ResourceEstimate;
}

/** What one run will need. */
export interface RunEstimate {
  parameters?: number;
  memoryBytes: number;
  /** Seconds of work at the assumed rate (at least MIN_STEP_SECONDS a step). */
  seconds: number;
  flops: number;
  diskBytes: number;
  /** Plugins (`model linear-transformer`) that give no estimate or whose estimate failed. */
  unestimated: string[];
}

/** What this machine allows one run. */
export interface MachineBudget {
  memoryBytes: number;
  /** Total memory, for the message. */
  totalMemoryBytes: number;
  /** Free space where results go; undefined when it cannot be read. */
  diskBytes?: number;
  diskPath?: string;
  seconds: number;
}

/** An optimistic rate (wasm's matmul on two cores is 25-30 GFLOP/s): refusals are cautious. */
export const FLOPS_PER_SECOND = 3e10;
/** No training step takes less (a few TF.js ops at 3-4 µs of dispatch each). */
export const MIN_STEP_SECONDS = 2e-5;
/** The longest run accepted without --force-size. */
export const MAX_RUN_SECONDS = 30 * 24 * 3600;
/** The most runs one spec expands into without --force-size. */
export const MAX_RUNS = 10_000;
/** Share of the machine's memory one run may take. */
const MEMORY_SHARE = 0.8;
const BYTES_PER_NUMBER = 4;
/** A metrics.jsonl record: the loss, optimizer numbers, analyses' values. */
const BYTES_PER_RECORD = 160;

/** The free space of the file system that holds `path` (or its nearest existing parent). */
function freeDisk(path: string): { bytes: number; path: string } | undefined {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    const stats = statfsSync(dir);
    // A pseudo file system (/proc, /sys) reports no blocks at all: its space is not known.
    if (stats.blocks === 0) return undefined;
    return { bytes: stats.bavail * stats.bsize, path: dir };
  } catch {
    return undefined;
  }
}

/** What this machine allows one run, with results written under `outDir`. */
export function machineBudget(outDir?: string): MachineBudget {
  const total = totalmem();
  const disk = outDir === undefined ? undefined : freeDisk(outDir);
  return {
    // Free memory grows as caches shrink: the machine's memory is the bound, not what is free.
    memoryBytes: total * MEMORY_SHARE,
    totalMemoryBytes: total,
    ...(disk ? { diskBytes: disk.bytes, diskPath: disk.path } : {}),
    seconds: MAX_RUN_SECONDS,
  };
}

function finiteNonNegative(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : undefined;
}

/** Estimates one run from its resolved spec. Never throws: a failing estimate is skipped. */
export function estimateRun(run: RunSpec, registry: Registry): RunEstimate {
  const unestimated: string[] = [];
  const steps = run.train.steps;
  const of = (
    kind: PluginKind,
    ref: ResolvedPluginRef,
    ctx: EstimateContext,
  ): ResourceEstimate | undefined => {
    const plugin = registry.find(kind, ref.name);
    if (!plugin?.estimate) {
      unestimated.push(`${kind} ${ref.name}`);
      return undefined;
    }
    try {
      // A resolved reference's config is parsed already; another is parsed here.
      const resolved = resolutionOf(ref);
      if (resolved?.plugin === plugin) return plugin.estimate(resolved.config, ctx);
      const parsed = plugin.config.safeParse(ref.config);
      return plugin.estimate(parsed.success ? parsed.data : ref.config, ctx);
    } catch {
      unestimated.push(`${kind} ${ref.name}`);
      return undefined;
    }
  };
  const dataset = of('dataset', run.dataset, { steps });
  const model = of('model', run.model, { steps, ...(dataset ? { dataset } : {}) });
  const context: EstimateContext = {
    steps,
    ...(dataset ? { dataset } : {}),
    ...(model ? { model } : {}),
  };
  const optimizer = of('optimizer', run.optimizer, context);
  const trainer = of('trainer', run.trainer, context);
  const analyses = run.analyses.map((a) => of('analysis', a, context));

  const parameters = finiteNonNegative(model?.parameters);
  // Adam-like when the optimizer does not say: two numbers of state per parameter.
  const state = finiteNonNegative(optimizer?.stateValuesPerParameter) ?? 2;
  const parameterBytes = (parameters ?? 0) * BYTES_PER_NUMBER * (3 + state);
  const held = [dataset, model, optimizer, trainer, ...analyses].reduce(
    (sum, e) => sum + (finiteNonNegative(e?.memoryBytes) ?? 0),
    0,
  );
  const flopsPerStep = finiteNonNegative(model?.flopsPerStep) ?? 0;
  const flops = steps * flopsPerStep;
  const seconds = steps * Math.max(flopsPerStep / FLOPS_PER_SECOND, MIN_STEP_SECONDS);
  const records = Math.floor(steps / run.train.logEvery) + 2;
  // The checkpoint holds values and state as base64 (4/3), twice while it is replaced.
  const checkpoint = (parameters ?? 0) * BYTES_PER_NUMBER * (1 + state) * (4 / 3) * 2;
  return {
    ...(parameters === undefined ? {} : { parameters }),
    memoryBytes: parameterBytes + held,
    seconds,
    flops,
    diskBytes: records * (BYTES_PER_RECORD + 24 * run.analyses.length) + checkpoint,
    unestimated,
  };
}

/** `3.2 GB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toPrecision(2)} ${units[unit]}`;
}

/** `3 h`, `41 days`, `2.1e6 years`. */
export function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
  if (seconds < 730 * 86400) return `${Math.round(seconds / 86400)} days`;
  const years = seconds / (365 * 86400);
  return `${years < 1e4 ? Math.round(years) : years.toExponential(1)} years`;
}

const count = (n: number) => (n < 1e6 ? String(Math.round(n)) : n.toExponential(1));

/** Why a run does not fit, one sentence per limit it exceeds (empty when it fits). */
export function exceeded(estimate: RunEstimate, budget: MachineBudget): string[] {
  const reasons: string[] = [];
  if (estimate.memoryBytes > budget.memoryBytes)
    reasons.push(
      `about ${formatBytes(estimate.memoryBytes)} of memory${estimate.parameters === undefined ? '' : ` (${count(estimate.parameters)} parameters, their gradients and optimizer state, and the data and activations of a step)`}, ` +
        `but this machine allows a run ${formatBytes(budget.memoryBytes)} (it has ${formatBytes(budget.totalMemoryBytes)})`,
    );
  if (estimate.seconds > budget.seconds)
    reasons.push(
      `about ${formatDuration(estimate.seconds)} of work` +
        (estimate.flops > 0
          ? ` (${estimate.flops.toExponential(1)} floating-point operations at ${FLOPS_PER_SECOND / 1e9} GFLOP/s, at best)`
          : ` (at least ${MIN_STEP_SECONDS * 1e6} µs per step)`) +
        `, more than the ${formatDuration(budget.seconds)} a run may take`,
    );
  if (budget.diskBytes !== undefined && estimate.diskBytes > budget.diskBytes)
    reasons.push(
      `about ${formatBytes(estimate.diskBytes)} of disk for its metrics and checkpoint, but ${budget.diskPath} has ${formatBytes(budget.diskBytes)} free`,
    );
  return reasons;
}
