/** An analysis worker process (parts of SLQ and the like): core's, with every built-in plugin. */
import { serveAnalysisWorker } from '@tdx/core';
import { createDefaultRegistry } from '../default-registry.js';

serveAnalysisWorker(createDefaultRegistry);
