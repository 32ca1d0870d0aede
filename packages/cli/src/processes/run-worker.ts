/** A `tdx run --workers N` worker process: core's run worker with every built-in plugin. */
import { serveRunWorker } from '@tdx/core';
import { createDefaultRegistry } from '../default-registry.js';

serveRunWorker(createDefaultRegistry);
