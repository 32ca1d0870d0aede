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
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { BackendInstance } from './contracts.js';
import { TdxError } from './errors.js';
import type { EventListener, ExperimentResult, RunResult } from './events.js';
import { readExperiment, type ExperimentFile } from './experiment-reader.js';
import { checkpointPath } from './checkpoint.js';
import { loadPluginModules } from './plugin-loader.js';

import { runInPool } from './pool/process-pool.js';
import type { Registry } from './registry.js';
import { runReporters } from './reports.js';
import { moveAside, readJson, writeJsonAtomic } from './run-directory.js';
import {
  executeRun,
  type CheckpointPolicy,
  type ExecutedRun,
  type RunTask,
} from './run-executor.js';
import { resolveExperiment } from './spec/resolve.js';
import { flattenRef, specToJson } from './spec/schema.js';
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
  /** Runs at once, each in its own process (default 1: in this process, one after another). */
  workers?: number;
  /**
   * With workers > 1: a module exporting createRegistry() that builds the same registry in each
   * worker (a registry cannot cross processes). The tdx command passes its own.
   */
  registryModule?: string;
  /**
   * Worker processes per run for analyses that split into parts (SLQ probes and blocks). Default:
   * the cores left over by the runs going at once (cores / runs at once, at least 1). 1 keeps
   * every analysis in its run's process. Needs registryModule.
   */
  analysisWorkers?: number;
  /** When runs save checkpoints (default: every 60 s, and on a stop request). */
  checkpoint?: CheckpointPolicy;
  /** Aborting asks every run to save a checkpoint and stop; unstarted runs do not start. */
  signal?: AbortSignal;
  /** The worker script (tests only; default: the built worker next to this module). */
  workerScript?: string;
  /** The analysis worker script (tests only; default: the built one next to this module). */
  analysisWorkerScript?: string;
}

/** Validates a spec and runs it. Spec problems throw before any work starts. */
export async function runExperiment(
  rawSpec: unknown,
  options: RunExperimentOptions,
): Promise<ExperimentResult> {
  const emit: EventListener = options.onEvent ?? (() => {});
  const registry = options.registry.child();
  const raw =
    options.backend === undefined ? rawSpec : { ...(rawSpec as object), backend: options.backend };
  const baseDir = options.source ? dirname(options.source.path) : process.cwd();
  const { spec, runs } = await resolveExperiment(raw, {
    registry,
    baseDir,
    ...(options.source ? { source: options.source } : {}),
  });
  const workers = Math.max(1, Math.floor(options.workers ?? 1));
  if (workers > 1 && !options.registryModule) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      'running with several workers needs options.registryModule',
      {
        hint: 'pass a module that exports createRegistry(), or use workers: 1',
      },
    );
  }

  if ((options.analysisWorkers ?? 1) > 1 && !options.registryModule) {
    throw new TdxError('INVALID_ARGUMENT', 'analysis workers need options.registryModule', {
      hint: 'pass a module that exports createRegistry(), or use analysisWorkers: 1',
    });
  }

  const backend = registry.create<BackendInstance>('backend', flattenRef(spec.backend), {
    path: 'backend',
  });
  const backendInfo = await backend.activate();

  const experimentDir = resolve(options.outDir ?? 'runs', spec.name);
  mkdirSync(experimentDir, { recursive: true });
  const meta: ExperimentFile = {
    spec: specToJson(spec),
    ...(options.source ? { specFile: options.source.path } : {}),
    runs: runs.map((r) => r.id),
    backend: backendInfo,
    updatedAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(experimentDir, 'experiment.json'), meta);
  emit({
    type: 'experiment-start',
    name: spec.name,
    dir: experimentDir,
    backend: backendInfo,
    workers: Math.min(workers, runs.length),
    runs: runs.map((r) => ({ id: r.id, label: r.label, dir: join(experimentDir, r.id) })),
  });

  // What each run needs: nothing (finished), a resumption, or a fresh start.
  const results = new Map<string, RunResult>();
  const tasks: RunTask[] = [];
  for (const [index, plan] of runs.entries()) {
    const dir = join(experimentDir, plan.id);
    const previous = readJson<RunResult>(join(dir, 'result.json'));
    const finished = previous?.status === 'completed' || previous?.status === 'diverged';
    if (finished && !options.rerun) {
      emit({
        type: 'run-skipped',
        runId: plan.id,
        label: plan.label,
        dir,
        reason: 'already finished',
      });
      results.set(plan.id, { ...previous, status: 'skipped' });
      continue;
    }
    const resumable = !options.rerun && existsSync(checkpointPath(dir));
    const movedTo = !resumable && existsSync(dir) ? moveAside(dir) : undefined;
    tasks.push({
      plan,
      dir,
      index,
      total: runs.length,
      mode: resumable ? 'resume' : 'fresh',
      ...(movedTo ? { previousMovedTo: movedTo } : {}),
    });
  }

  const shouldStop = () => options.signal?.aborted === true;
  const pooled = workers > 1 && tasks.length > 1;
  const analysisWorkers = options.registryModule
    ? Math.max(
        1,
        Math.floor(
          options.analysisWorkers ??
            availableParallelism() / (pooled ? Math.min(workers, tasks.length) : 1),
        ),
      )
    : 1;
  const registrySetup = {
    registryModule: options.registryModule!,
    plugins: spec.plugins,
    baseDir,
    backend: flattenRef(spec.backend),
  };
  let executed: ExecutedRun[];
  if (pooled) {
    executed = await runInPool(tasks, {
      workers,
      emit,
      shouldStop,
      ...(options.workerScript ? { workerScript: options.workerScript } : {}),
      init: {
        ...registrySetup,
        analysisWorkers,
        checkpoint: options.checkpoint ?? {},
        ...(options.source ? { specFile: options.source.path } : {}),
      },
    });
  } else {
    executed = [];
    for (const task of tasks) {
      if (shouldStop()) break;
      const result = await executeRun(task, {
        registry,
        backend: backendInfo,
        emit,
        checkpoint: options.checkpoint ?? {},
        shouldStop,
        ...(options.source ? { specFile: options.source.path } : {}),
        ...(analysisWorkers > 1
          ? {
              analysisWorkers: {
                ...registrySetup,
                count: analysisWorkers,
                ...(options.analysisWorkerScript
                  ? { workerScript: options.analysisWorkerScript }
                  : {}),
              },
            }
          : {}),
      });
      executed.push(result);
      if (result.fatal) throw result.fatal;
    }
  }
  for (const { fatal: _fatal, ...result } of executed) results.set(result.id, result);

  const reports = await runReporters(readExperiment(experimentDir), spec.reporters, registry);
  if (reports.files.length > 0) emit({ type: 'reports', files: reports.files });
  const result: ExperimentResult = {
    name: spec.name,
    dir: experimentDir,
    backend: backendInfo,
    // Runs a stop request kept from starting are reported as interrupted at step 0.
    runs: runs.map(
      (plan) =>
        results.get(plan.id) ?? {
          id: plan.id,
          label: plan.label,
          dir: join(experimentDir, plan.id),
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

/** Rebuilds the reports of an experiment folder from the files on disk (`tdx report`). */
export async function writeReports(
  experimentDir: string,
  options: { registry: Registry; reporters?: unknown[] },
): Promise<{ files: string[]; errors: string[] }> {
  const data = readExperiment(resolve(experimentDir));
  const registry = options.registry.child();
  const meta = readJson<ExperimentFile>(join(resolve(experimentDir), 'experiment.json'));
  const plugins = (data.spec.plugins as string[] | undefined) ?? [];
  // Analyses' figures may come from the spec's own plugins.
  await loadPluginModules(
    plugins,
    registry,
    meta?.specFile ? dirname(meta.specFile) : process.cwd(),
  );
  // The spec's reporters, or, when it names none, every registered one: asking for a report
  // should give one even if the experiment ran before a reporter was installed.
  const listed = (data.spec.reporters as unknown[] | undefined) ?? [];
  const refs =
    options.reporters ??
    (listed.length > 0 ? listed : registry.list('reporter').map((p) => ({ name: p.name })));

  const resolved = refs.map((ref, i) => {
    const r = registry.resolve('reporter', ref, `reporters[${i}]`);
    return { name: r.plugin.name, label: r.label, config: r.config as Record<string, unknown> };
  });
  return runReporters(data, resolved, registry);
}
