import { TdxError, type Registry } from '@tdx/core';
import { runQueueWorker } from '@tdx/queue';
import { EXIT, type CliIo } from '../io.js';
import { workerScripts } from '../worker-scripts.js';
import { positiveInteger } from './run.js';

export interface WorkerCommandOptions {
  concurrency?: string;
  backend?: string;
  analysisWorkers?: string;
  name?: string;
  pluginDir?: string;
  scratch?: string;
  stallSeconds?: string;
  queueName?: string;
}

export const WORKER_HELP = `
Runs come from \`tdx run <spec> --queue <redis-url>\` on any machine; this worker executes them
with the same code as a local run, in scratch folders, and sends what they write back through
Redis: no shared folder is needed. Only resolved specs travel, never code: the plugin modules a
spec lists must be installed here (a run whose module is missing fails, naming it).

Faults:
  this worker killed (SIGKILL, a lost machine)  its runs are taken over by other workers after
                                                --stall-seconds and resume from their last
                                                checkpoint, with the same numbers
  Ctrl-C or SIGTERM                             runs save a checkpoint and go back to the
                                                queue; exit 130 / 143 (a second one quits now)
  Redis unreachable                             runs pause; they go on when it is back
`;

/** `tdx worker <redis-url>`: takes runs from the queue until Ctrl-C or SIGTERM. */
export async function workerCommand(
  url: string,
  options: WorkerCommandOptions,
  registry: Registry,
  io: CliIo,
): Promise<number> {
  const concurrency =
    options.concurrency === undefined
      ? undefined
      : positiveInteger(options.concurrency, '--concurrency', 1);
  const analysisWorkers =
    options.analysisWorkers === undefined
      ? undefined
      : positiveInteger(options.analysisWorkers, '--analysis-workers', 1);
  const stallSeconds =
    options.stallSeconds === undefined
      ? undefined
      : positiveInteger(options.stallSeconds, '--stall-seconds', 30);
  if (options.backend !== undefined) {
    const names = registry.list('backend').map((p) => p.name);
    if (!names.includes(options.backend))
      throw new TdxError('INVALID_ARGUMENT', `--backend: unknown backend "${options.backend}"`, {
        hint: `backends: ${names.join(', ')} (tdx doctor says which run here)`,
      });
  }
  const controller = new AbortController();
  let stoppedBy: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted)
      process.exit(signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
    stoppedBy = signal;
    io.err(
      `\ntdx worker: stopping${signal === 'SIGTERM' ? ' (SIGTERM)' : ''}: runs save a checkpoint and go back to the queue (${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again to quit now; other workers take them over)\n`,
    );
    controller.abort();
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    const summary = await runQueueWorker({
      url,
      runScript: workerScripts.queueRun,
      analysisWorkerScript: workerScripts.analysis,
      ...(concurrency ? { concurrency } : {}),
      ...(analysisWorkers ? { analysisWorkers } : {}),
      ...(stallSeconds ? { stallSeconds } : {}),
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.name ? { name: options.name } : {}),
      ...(options.pluginDir ? { pluginDir: options.pluginDir } : {}),
      ...(options.scratch ? { scratchDir: options.scratch } : {}),
      ...(options.queueName ? { queueName: options.queueName } : {}),
      signal: controller.signal,
      log: (line) => io.err(`tdx worker: ${line}\n`),
    });
    io.err(
      `tdx worker: stopped: ${summary.ended} run(s) ended here, ${summary.givenBack} given back to the queue` +
        (summary.superseded ? `, ${summary.superseded} taken over by other workers` : '') +
        '\n',
    );
    return stoppedBy === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}
