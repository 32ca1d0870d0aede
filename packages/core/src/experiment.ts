/**
 * The pipeline: a spec in, runs and reports on disk out.
 *
 *   <outDir>/<spec name>/experiment.json   the resolved experiment and the ids of its runs
 *                        <run id>/...       one folder per run (see run-executor.ts)
 *                        summary.csv, report.html, figures/   from the reporters
 *
 * Running a spec again skips finished runs and resumes interrupted or failed ones from their
 * checkpoint, with the same results as an uninterrupted run (same seed, same backend).
 */
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { BackendInfo, BackendInstance } from './contracts.js';
import { TdxError } from './errors.js';
import type { EventListener, ExperimentResult, RunResult } from './events.js';
import { readExperiment, type ExperimentFile } from './experiment-reader.js';
import { loadPluginModules } from './plugin-loader.js';

import { runInPool } from './pool/process-pool.js';
import type { WorkerRegistrySetup } from './pool/worker-registry.js';
import { refData, type Registry } from './registry.js';
import { runReporters } from './reports.js';
import { resolveWithOverrides } from './resolve-with-overrides.js';
import { fsErrorCode, ioError, makeDirs, writeJsonAtomic } from './run-directory.js';
import {
  executeRun,
  type CheckpointPolicy,
  type ExecutedRun,
  type RunContext,
} from './run-executor.js';
import { needsWork, runSource, type RunSource } from './run-source.js';
import type { PlannedRun } from './spec/expand.js';
import { flattenRef, specToJson, type ResolvedSpec } from './spec/schema.js';
import type { SpecSource } from './spec/source.js';

export interface RunExperimentOptions {
  /** Registry with the built-in plugins; the spec's own plugins go into a child of it. */
  registry: Registry;
  onEvent?: EventListener;
  /** Folder that holds <spec name>/; default `runs` in the working directory. */
  outDir?: string;
  /** Overrides the spec's backend (the --backend flag). */
  backend?: string;
  /** The spec's file, for relative plugin paths and error locations. */
  source?: SpecSource;
  /** Run again runs that already finished (their folders are moved aside, never deleted). */
  rerun?: boolean;
  /** Run again runs that diverged (their folders are moved aside); others finished are skipped. */
  rerunDiverged?: boolean;
  /**
   * Run even when the estimated memory, work or disk of a run exceeds what this machine has
   * (the --force-size flag). Without it such a spec fails before any work with SIZE_LIMIT.
   */
  forceSize?: boolean;
  /** Runs at once, each in its own process (default 1: in this process, one after another). */
  workers?: number;
  /**
   * Worker processes per run for analyses that split into parts (SLQ probes and blocks). Default:
   * the cores left over by the runs going at once (cores / runs at once, at least 1). 1 keeps
   * every analysis in its run's process. Needs analysisWorkerScript.
   */
  analysisWorkers?: number;
  /** When runs save checkpoints (default: every 60 s, and on a stop request). */
  checkpoint?: CheckpointPolicy;
  /** Aborting asks every run to save a checkpoint and stop; unstarted runs do not start. */
  signal?: AbortSignal;
  /**
   * With workers > 1: the script each run worker process runs, one that calls
   * `serveRunWorker(createRegistry)` with the caller's registry (a registry cannot cross
   * processes; the caller's script imports core, core never imports the caller). The tdx
   * command passes its own.
   */
  workerScript?: string;
  /** With analysis workers: the script that calls `serveAnalysisWorker(createRegistry)`. */
  analysisWorkerScript?: string;
}

/** Validates a spec and runs it. Spec problems throw before any work starts. */
export async function runExperiment(
  rawSpec: unknown,
  options: RunExperimentOptions,
): Promise<ExperimentResult> {
  const emit: EventListener = options.onEvent ?? (() => {});
  const registry = options.registry.child();
  const { spec, runs, notices, baseDir } = await resolveWithOverrides(rawSpec, options, registry);
  const workers = checkWorkerOptions(options);
  const backend = await registry
    .create<BackendInstance>('backend', flattenRef(spec.backend), { path: 'backend' })
    .activate();
  const dir = resolve(options.outDir ?? 'runs', spec.name);
  const experiment: Experiment = { spec, runs, dir, backend, registry, baseDir, emit, options };
  openExperimentFolder(experiment, workers, notices);
  const results = await executeRuns(experiment, workers);
  return report(experiment, results);
}

/** An experiment under way: what every phase after resolution works with. */
interface Experiment {
  spec: ResolvedSpec;
  runs: PlannedRun[];
  /** <outDir>/<spec name>. */
  dir: string;
  backend: BackendInfo;
  /** A child of the caller's registry, with the spec's plugins. */
  registry: Registry;
  /** The folder the spec's relative plugin paths are resolved from. */
  baseDir: string;
  emit: EventListener;
  options: RunExperimentOptions;
}

/** The runs at once; worker processes of either kind need their script to rebuild the registry. */
function checkWorkerOptions(options: RunExperimentOptions): number {
  const workers = Math.max(1, Math.floor(options.workers ?? 1));
  if (workers > 1 && !options.workerScript) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      'running with several workers needs options.workerScript',
      {
        hint: 'pass a script that calls serveRunWorker(createRegistry), or use workers: 1',
      },
    );
  }
  if ((options.analysisWorkers ?? 1) > 1 && !options.analysisWorkerScript) {
    throw new TdxError('INVALID_ARGUMENT', 'analysis workers need options.analysisWorkerScript', {
      hint: 'pass a script that calls serveAnalysisWorker(createRegistry), or use analysisWorkers: 1',
    });
  }
  return workers;
}

/** Creates the experiment's folder and experiment.json, and announces the experiment. */
function openExperimentFolder(exp: Experiment, workers: number, notices: string[]): void {
  const { spec, runs, dir, backend, emit, options } = exp;
  createExperimentDir(dir);
  writeExperimentFile(dir, spec, runs, backend, options.source);
  emit({
    type: 'experiment-start',
    name: spec.name,
    dir,
    backend,
    workers: Math.min(workers, runs.length),
    runs: runs.map((r) => ({ id: r.id, label: r.label, dir: join(dir, r.id) })),
  });
  for (const message of notices) emit({ type: 'warning', message });
}

/**
 * Executes the runs that need work, each claimed first (another process may hold it): in
 * worker processes when several runs are to go at once, else here, one after another.
 * Returns every run's result, skipped runs' included.
 */
async function executeRuns(exp: Experiment, workers: number): Promise<Map<string, RunResult>> {
  const { runs, dir, emit, options } = exp;
  const results = new Map<string, RunResult>();
  const shouldStop = () => options.signal?.aborted === true;
  const source = runSource(runs, dir, results, emit, shouldStop, {
    ...(options.rerun ? { rerun: true } : {}),
    ...(options.rerunDiverged ? { rerunDiverged: true } : {}),
  });
  // A run that needs work, as far as the folders say now (claims decide when it comes to it).
  const toRun = runs.filter((plan) => needsWork(join(dir, plan.id), options)).length;
  const pooled = workers > 1 && toRun > 1;
  const setup: ExecutionSetup = {
    shouldStop,
    runWorkers: Math.min(workers, toRun),
    analysisWorkers: analysisWorkersPerRun(options, pooled ? Math.min(workers, toRun) : 1),
    registrySetup: {
      plugins: exp.spec.plugins,
      baseDir: exp.baseDir,
      backend: flattenRef(exp.spec.backend),
    },
  };
  // Claims die with the process anyway (a dead holder's claim is stale); this tidies them.
  const releaseOnExit = () => source.releaseAll();
  process.on('exit', releaseOnExit);
  let executed: ExecutedRun[];
  try {
    executed = pooled
      ? await executeInPool(exp, source, setup)
      : await executeHere(exp, source, setup);
  } finally {
    source.releaseAll();
    process.off('exit', releaseOnExit);
  }
  for (const { fatal: _fatal, ...result } of executed) results.set(result.id, result);
  return results;
}

interface ExecutionSetup {
  shouldStop: () => boolean;
  /** Worker processes for runs (when pooled). */
  runWorkers: number;
  /** Analysis worker processes per run (1: analyses in the run's process). */
  analysisWorkers: number;
  registrySetup: WorkerRegistrySetup;
}

/**
 * Analysis workers per run: as asked, else the cores left over by the runs going at once (at
 * least 1). Without their script a worker could not rebuild the run: none.
 */
function analysisWorkersPerRun(options: RunExperimentOptions, runsAtOnce: number): number {
  if (!options.analysisWorkerScript) return 1;
  return Math.max(1, Math.floor(options.analysisWorkers ?? availableParallelism() / runsAtOnce));
}

/** Runs in worker processes, each rebuilding the registry with the caller's worker script. */
function executeInPool(
  exp: Experiment,
  source: RunSource,
  setup: ExecutionSetup,
): Promise<ExecutedRun[]> {
  const { options } = exp;
  return runInPool(source, {
    workers: setup.runWorkers,
    emit: exp.emit,
    shouldStop: setup.shouldStop,
    workerScript: options.workerScript!,
    init: {
      ...setup.registrySetup,
      analysisWorkers: setup.analysisWorkers,
      ...(options.analysisWorkerScript
        ? { analysisWorkerScript: options.analysisWorkerScript }
        : {}),
      checkpoint: options.checkpoint ?? {},
      ...(options.source ? { specFile: options.source.path } : {}),
    },
  });
}

/** Runs in this process, one after another; a fatal failure (bad input) stops the rest. */
async function executeHere(
  exp: Experiment,
  source: RunSource,
  setup: ExecutionSetup,
): Promise<ExecutedRun[]> {
  const { options } = exp;
  const context: RunContext = {
    registry: exp.registry,
    backend: exp.backend,
    emit: exp.emit,
    checkpoint: options.checkpoint ?? {},
    shouldStop: setup.shouldStop,
    ...(options.source ? { specFile: options.source.path } : {}),
    ...(setup.analysisWorkers > 1
      ? {
          analysisWorkers: {
            ...setup.registrySetup,
            count: setup.analysisWorkers,
            workerScript: options.analysisWorkerScript!,
          },
        }
      : {}),
  };
  const executed: ExecutedRun[] = [];
  for (let task = await source.next(); task; task = await source.next()) {
    let result: ExecutedRun;
    try {
      result = await executeRun(task, context);
    } finally {
      source.finished(task);
    }
    executed.push(result);
    if (result.fatal) throw result.fatal;
  }
  return executed;
}

/** Writes the reports and announces the experiment's result. */
async function report(exp: Experiment, results: Map<string, RunResult>): Promise<ExperimentResult> {
  const { spec, runs, dir, backend, registry, emit } = exp;
  const reports = await runReporters(readExperiment(dir), spec.reporters, registry);
  if (reports.files.length > 0) emit({ type: 'reports', files: reports.files });
  const result: ExperimentResult = {
    name: spec.name,
    dir,
    backend,
    // Runs a stop request kept from starting are reported as interrupted at step 0.
    runs: runs.map(
      (plan) =>
        results.get(plan.id) ?? {
          id: plan.id,
          label: plan.label,
          dir: join(dir, plan.id),
          status: 'interrupted',
          steps: 0,
          wallMs: 0,
        },
    ),
    reports: reports.files,
    ...(reports.errors.length > 0 ? { reportErrors: reports.errors } : {}),
  };
  emit({ type: 'experiment-end', result });
  return result;
}

/**
 * Creates the experiment's folder. A path that cannot hold one (under a file, not writable) is
 * bad input (INVALID_ARGUMENT: choose another --out); other failures are IO.
 */
function createExperimentDir(dir: string): void {
  try {
    makeDirs(dir);
    const probe = join(dir, `.write-test-${process.pid}`);
    writeJsonAtomic(probe, {});
    rmQuiet(probe);
  } catch (error) {
    const code = fsErrorCode((error as { cause?: unknown }).cause ?? error);
    const bad = ['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'ENOENT'];
    const io = ioError((error as { cause?: unknown }).cause ?? error, 'write results into', dir);
    if (code && bad.includes(code))
      throw new TdxError('INVALID_ARGUMENT', io.message, {
        cause: error,
        ...(io.hint ? { hint: io.hint } : {}),
      });
    throw io;
  }
}

function rmQuiet(path: string): void {
  try {
    rmSync(path);
  } catch {
    // already gone
  }
}

/** What `tdx report` did: the files written, and what it could not do or read. */
export interface ReportsWritten {
  files: string[];
  /** One message per reporter that failed or could not be created. */
  errors: string[];
  /** Records that could not be read (file, line, why): the reports leave them out. */
  unreadable: string[];
  /** Plugin modules the experiment's spec lists that were not loaded (see `plugins`). */
  notLoaded: string[];
}

/**
 * Rebuilds the reports of an experiment folder from the files on disk (`tdx report`).
 *
 * Opening results runs no code they name: the plugin modules listed in the folder's
 * experiment.json are not imported. Only `plugins` (modules the caller names, e.g. with
 * `tdx report --plugins`, resolved from `baseDir`) are loaded; without them, analyses from
 * plugins are drawn with the default figure and reporters from plugins are reported missing.
 */
export async function writeReports(
  experimentDir: string,
  options: { registry: Registry; reporters?: unknown[]; plugins?: string[]; baseDir?: string },
): Promise<ReportsWritten> {
  const data = readExperiment(resolve(experimentDir));
  const registry = options.registry.child();
  const named = options.plugins ?? [];
  const problems = await loadPluginModules(named, registry, options.baseDir ?? process.cwd());
  if (problems.length > 0)
    throw new TdxError('PLUGIN_LOAD', `cannot load the plugin modules given`, {
      problems: problems.map((p) => ({ ...p, path: p.path.replace(/^plugins/, '--plugins') })),
    });
  const listed = Array.isArray(data.spec.plugins) ? (data.spec.plugins as unknown[]) : [];
  const notLoaded = listed.filter((p): p is string => typeof p === 'string' && !named.includes(p));
  // The spec's reporters, or, when it names none, every registered one: asking for a report
  // should give one even if the experiment ran before a reporter was installed.
  const listedReporters = (data.spec.reporters as unknown[] | undefined) ?? [];
  const refs =
    options.reporters ??
    (listedReporters.length > 0
      ? listedReporters
      : registry.list('reporter').map((p) => ({ name: p.name })));

  const errors: string[] = [];
  const resolved = refs.flatMap((ref, i) => {
    try {
      return [refData(registry.resolve('reporter', ref, `reporters[${i}]`))];
    } catch (error) {
      const name = (ref as { name?: unknown } | null)?.name ?? ref;
      errors.push(
        `reporter ${JSON.stringify(name)} cannot be created here: ${error instanceof Error ? error.message : String(error)}` +
          (notLoaded.length > 0
            ? ` (if a plugin module of the spec provides it, name it: --plugins ${notLoaded.join(',')})`
            : ''),
      );
      return [];
    }
  });
  const outcome = await runReporters(data, resolved, registry);
  const unreadable = data.runs.flatMap((run) =>
    (run.unreadable ?? []).map(
      (u) => `${u.file}${u.line === undefined ? '' : `:${u.line}`}: ${u.reason}`,
    ),
  );
  return { files: outcome.files, errors: [...errors, ...outcome.errors], unreadable, notLoaded };
}

/** experiment.json: the resolved spec, its file, the run ids and the backend that runs them. */
export function writeExperimentFile(
  dir: string,
  spec: ResolvedSpec,
  runs: readonly PlannedRun[],
  backend: BackendInfo,
  source?: SpecSource,
): void {
  const meta: ExperimentFile = {
    spec: specToJson(spec),
    ...(source ? { specFile: source.path } : {}),
    runs: runs.map((r) => r.id),
    backend,
    updatedAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(dir, 'experiment.json'), meta);
}
