/**
 * An analysis worker process: rebuilds one run's dataset, model and trainer session (one
 * TF.js engine), then computes the parts of its analyses that the run hands it.
 * Started by analysis-pool.ts with child_process.fork.
 */
import type { AnalysisInstance, TrainingSession } from '../contracts.js';
import { createRunParts, startSession, type RunParts } from '../run-parts.js';
import type { FromAnalysisWorker, ToAnalysisWorker } from './analysis-protocol.js';
import { serializeError } from './serialized-error.js';
import { openWorkerRegistry } from './worker-registry.js';

const send = (message: FromAnalysisWorker): void => {
  process.send?.(message);
};

// The run that started this worker owns it: when the run's process goes, so does this one.
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group; the run decides, and closes this pool.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

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

let parts: RunParts | undefined;
let session: TrainingSession | undefined;

process.on('message', (message: ToAnalysisWorker) => {
  switch (message.type) {
    case 'init':
      void (async () => {
        try {
          const { registry } = await openWorkerRegistry(message.init);
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
