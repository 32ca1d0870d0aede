import { availableParallelism } from 'node:os';
import { runExperiment, TdxError, type ExperimentResult, type Registry } from '@tdx/core';
import { redactUrl, runOnQueue } from '@tdx/queue';

import { EXIT, type CliIo } from '../io.js';
import { readSpecWithOverrides } from '../overrides.js';
import { progressPrinter } from '../progress.js';
import { workerScripts } from '../worker-scripts.js';

export interface RunOptions {
  out: string;
  backend?: string;
  rerun?: boolean;
  rerunDiverged?: boolean;
  forceSize?: boolean;
  json?: boolean;
  set?: string[];
  workers?: string;
  analysisWorkers?: string;
  checkpointEvery?: string;
  queue?: string;
  detach?: boolean;
  queueName?: string;
}

export function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${flag} takes a whole number of at least 1, got "${text}"`,
    );
  return n;
}

/**
 * `tdx run <spec>`: validates the spec, runs it, writes the reports. Exit 1 if a run failed,
 * 3 if a run diverged (and none failed), 130 if interrupted by Ctrl-C, 143 by SIGTERM. The
 * first Ctrl-C or SIGTERM asks every run to checkpoint and stop; a second quits at once.
 */
export async function runCommand(
  specFile: string,
  options: RunOptions,
  registry: Registry,
  io: CliIo,
): Promise<number> {
  const { raw, source } = readSpecWithOverrides(specFile, options.set ?? []);
  const workers = positiveInteger(options.workers, '--workers', availableParallelism());
  const analysisWorkers =
    options.analysisWorkers === undefined
      ? undefined
      : positiveInteger(options.analysisWorkers, '--analysis-workers', 1);
  const everySteps =
    options.checkpointEvery === undefined
      ? undefined
      : positiveInteger(options.checkpointEvery, '--checkpoint-every', 1);
  if (options.queue !== undefined) {
    const local =
      options.workers !== undefined
        ? '--workers'
        : options.analysisWorkers !== undefined
          ? '--analysis-workers'
          : undefined;
    if (local)
      throw new TdxError(
        'INVALID_ARGUMENT',
        `${local} applies to runs on this machine, not to runs on a queue`,
        {
          hint: 'with --queue each `tdx worker` says how many runs it takes at once (--concurrency) and its --analysis-workers',
        },
      );
  } else if (options.detach || options.queueName !== undefined) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${options.detach ? '--detach' : '--queue-name'} needs --queue`,
      {
        hint: 'give the queue: --queue redis://host:6379',
      },
    );
  }
  const controller = new AbortController();
  let stoppedBy: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted)
      process.exit(signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
    stoppedBy = signal;
    const what =
      options.queue === undefined
        ? 'every run saves a checkpoint; run the same command again to resume'
        : 'the runs go on on the workers; run the same command again to collect them';
    io.err(
      `\ntdx: stopping${signal === 'SIGTERM' ? ' (SIGTERM)' : ''}: ${what} (${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again to quit now)\n`,
    );
    controller.abort();
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  const progress = progressPrinter(io, { json: Boolean(options.json) });
  try {
    let result: ExperimentResult;
    if (options.queue !== undefined) {
      const queued = await runOnQueue(raw, {
        registry,
        url: options.queue,
        source,
        outDir: options.out,
        signal: controller.signal,
        ...(options.queueName ? { queueName: options.queueName } : {}),
        ...(options.detach ? { detach: true } : {}),
        ...(everySteps ? { checkpoint: { everySteps } } : {}),
        ...(options.backend ? { backend: options.backend } : {}),
        ...(options.rerun ? { rerun: true } : {}),
        ...(options.rerunDiverged ? { rerunDiverged: true } : {}),
        ...(options.forceSize ? { forceSize: true } : {}),
        onEvent: progress,
        log: (line) => io.err(`tdx: ${line}\n`),
      });
      if (queued.detached) {
        io.err(
          `tdx: ${queued.name}: ${queued.onQueue.length} run(s) on the queue ${redactUrl(options.queue)}; the same command without --detach collects them into ${queued.dir}\n`,
        );
        return EXIT.ok;
      }
      if (stoppedBy && queued.onQueue.length > 0)
        io.err(
          `tdx: ${queued.onQueue.length} run(s) go on on the workers; run the same command again to collect them\n`,
        );
      result = queued;
    } else {
      result = await runExperiment(raw, {
        registry,
        source,
        outDir: options.out,
        workers,
        ...(analysisWorkers === undefined ? {} : { analysisWorkers }),
        workerScript: workerScripts.run,
        analysisWorkerScript: workerScripts.analysis,
        signal: controller.signal,
        ...(everySteps ? { checkpoint: { everySteps } } : {}),
        ...(options.backend ? { backend: options.backend } : {}),
        ...(options.rerun ? { rerun: true } : {}),
        ...(options.rerunDiverged ? { rerunDiverged: true } : {}),
        ...(options.forceSize ? { forceSize: true } : {}),
        onEvent: progress,
      });
    }
    for (const message of result.reportErrors ?? []) io.err(`tdx: ${message}\n`);
    const runs = result.runs;
    if (stoppedBy === 'SIGTERM') return EXIT.terminated;
    if (stoppedBy || runs.some((r) => r.status === 'interrupted')) return EXIT.interrupted;
    if (runs.some((r) => r.status === 'failed') || result.reportErrors) return EXIT.runFailed;
    // A run that diverged now or earlier (skipped now): the results hold a non-finite loss.
    if (runs.some((r) => r.status === 'diverged' || r.previousStatus === 'diverged'))
      return EXIT.diverged;
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}
