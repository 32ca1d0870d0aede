/** The process that executes a `tdx worker`'s runs: the queue's, with every built-in plugin. */
import { serveRunProcess } from '@tdx/queue';
import { createDefaultRegistry } from '../default-registry.js';

serveRunProcess(createDefaultRegistry);
