/**
 * The scripts of the processes tdx starts (registries cannot cross processes): each imports the
 * built-in plugins and hands core (or the queue) its registry, so the packages below never load
 * the command's code by path.
 */
import { fileURLToPath } from 'node:url';

const script = (file: string) => fileURLToPath(new URL(`./processes/${file}`, import.meta.url));

export const workerScripts = {
  /** Runs of `tdx run --workers N` (core's serveRunWorker). */
  run: script('run-worker.js'),
  /** Parts of split analyses (core's serveAnalysisWorker). */
  analysis: script('analysis-worker.js'),
  /** Runs a `tdx worker` takes from the queue (the queue's serveRunProcess). */
  queueRun: script('queue-run-process.js'),
};
