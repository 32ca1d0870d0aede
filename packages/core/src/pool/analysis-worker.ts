/**
 * An analysis worker process: rebuilds one run's dataset, model and trainer session (one
 * TF.js engine), then computes the parts of its analyses that the run hands it.
 * Its script is the caller's (the tdx command's `processes/analysis-worker.js`), which calls
 * serveAnalysisWorker with its registry; analysis-pool.ts starts it with child_process.fork.
 */
import type { AnalysisInstance, TrainingSession } from '../contracts.js';
import { createRunParts, startSession, type RunParts } from '../run-parts.js';
import type { FromAnalysisWorker, ToAnalysisWorker } from './analysis-protocol.js';
import { serializeError } from './serialized-error.js';
import { openWorkerRegistry, type RegistryFactory } from './worker-registry.js';

const send = (message: FromAnalysisWorker): void => {
  process.send?.(message);
};

/**
 * The workers never train, so the session gets an optimizer that does nothing at init (the
 * spec's own could be costly there: blockwise-gd estimates curvature) and refuses to update.
 */
const noTraining = {
  init: () => ({}),
  update: () => {
    throw new Error('analysis workers do not train');
  },
};

/** Computes the parts the run hands this process until it says exit (or goes). */
export function serveAnalysisWorker(createRegistry: RegistryFactory): void {
  // The run that started this worker owns it: when the run's process goes, so does this one.
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C reaches the whole process group; the run decides, and closes this pool.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});

  let parts: RunParts | undefined;
  let session: TrainingSession | undefined;

  process.on('message', (message: ToAnalysisWorker) => {
    switch (message.type) {
      case 'init':
        void (async () => {
          try {
            const { registry } = await openWorkerRegistry(createRegistry, message.init);
            parts = createRunParts(message.init.spec, registry.child());
            session = await startSession(message.init.spec, parts, noTraining);
            send({ type: 'ready' });
          } catch (error) {
            send({ type: 'init-error', error: serializeError(error) });
          }
        })();
        break;
      case 'part':
        try {
          const { analysisIndex, ctx, shared } = message.request;
          const analysis: AnalysisInstance | undefined = parts!.analyses[analysisIndex];
          if (!analysis?.parallel) throw new Error(`analysis ${analysisIndex} does not split`);
          const result = analysis.parallel.part(session!.target(), ctx, message.index, shared);
          send({ type: 'part-done', id: message.id, result });
        } catch (error) {
          send({ type: 'part-error', id: message.id, error: serializeError(error) });
        }
        break;
      case 'exit':
        session?.dispose();
        process.exit(0);
    }
  });
}
