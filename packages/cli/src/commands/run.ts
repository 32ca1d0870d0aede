import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readSpecFile, runExperiment, TdxError, type Registry } from '@tdx/core';

import { EXIT, type CliIo } from '../io.js';
import { applyOverrides, locateOverrideProblems } from '../overrides.js';
import { progressPrinter } from '../progress.js';

export interface RunOptions {
  out: string;
  backend?: string;
  rerun?: boolean;
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
 * 130 if interrupted. The first Ctrl-C asks every run to checkpoint and stop; a second quits.
 */
export async function runCommand(
  specFile: string,
  options: RunOptions,
  registry: Registry,
  io: CliIo,
): Promise<number> {
  const source = readSpecFile(specFile);
  const raw = applyOverrides(source.raw, options.set ?? []);
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
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    io.err(
      '\ntdx: stopping: every run saves a checkpoint; run the same command again to resume (Ctrl-C again to quit now)\n',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);
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
      onEvent: progressPrinter(io, { json: Boolean(options.json) }),
    }).catch((error: unknown) => {
      throw locateOverrideProblems(error, source.raw, options.set ?? []);
    });
    for (const message of result.reportErrors ?? []) io.err(`tdx: ${message}\n`);
    if (controller.signal.aborted) return EXIT.interrupted;
    return result.runs.some((r) => r.status === 'failed') || result.reportErrors
      ? EXIT.runFailed
      : EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
