import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runExperiment, TdxError, type Registry } from '@tdx/core';

import { EXIT, type CliIo } from '../io.js';
import { readSpecWithOverrides } from '../overrides.js';
import { progressPrinter } from '../progress.js';

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
}

function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
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
  const controller = new AbortController();
  let stoppedBy: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted)
      process.exit(signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
    stoppedBy = signal;
    io.err(
      `\ntdx: stopping${signal === 'SIGTERM' ? ' (SIGTERM)' : ''}: every run saves a checkpoint; run the same command again to resume (${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again to quit now)\n`,
    );
    controller.abort();
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    const result = await runExperiment(raw, {
      registry,
      source,
      outDir: options.out,
      workers,
      ...(analysisWorkers === undefined ? {} : { analysisWorkers }),
      registryModule: fileURLToPath(new URL('../registry-module.js', import.meta.url)),
      signal: controller.signal,
      ...(everySteps ? { checkpoint: { everySteps } } : {}),
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.rerun ? { rerun: true } : {}),
      ...(options.rerunDiverged ? { rerunDiverged: true } : {}),
      ...(options.forceSize ? { forceSize: true } : {}),
      onEvent: progressPrinter(io, { json: Boolean(options.json) }),
    });
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
