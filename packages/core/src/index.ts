export { z } from 'zod';
export * from './errors.js';
export * from './plugin.js';
export * from './plugin-ref.js';

export * from './registry.js';
export * from './contracts.js';
export * from './figures.js';
export * from './run-groups.js';
export * from './experiment-data.js';

export * from './events.js';
export * from './seeds.js';
export * from './schedule.js';
export * from './canonical-json.js';
export * from './run-directory.js';
export * from './plugin-loader.js';
export * from './zod-problems.js';
export { closestMatch, choicesHint, editDistance } from './suggest.js';
export * from './spec/schema.js';
export * from './spec/source.js';
export * from './spec/resolve.js';
export * from './spec/expand.js';
export * from './spec/paths.js';

export * from './experiment.js';
export * from './resolve-with-overrides.js';
export * from './experiment-reader.js';
export * from './checkpoint.js';
export * from './reports.js';
export * from './run-executor.js';
export * from './run-claim.js';
export * from './run-source.js';
export * from './estimate.js';
export type { WorkerInit } from './pool/protocol.js';
export { childEnvironment, ownThreads } from './pool/thread-budget.js';
export * from './tuning.js';
