export { runOnQueue, runKey, type QueueRunOptions, type QueueRunResult } from './submit.js';
export {
  runQueueWorker,
  openQueue,
  type QueueWorkerOptions,
  type QueueWorkerSummary,
} from './worker.js';
export { serveRunProcess } from './run-process.js';
export { parseRedisUrl, redactUrl, type RedisTarget } from './url.js';
export {
  RunStore,
  isSafeRunPath,
  type FileOp,
  type RunRecord,
  type RunState,
  type Snapshot,
} from './store.js';
export { QUEUE_NAME, type RunJob } from './protocol.js';
