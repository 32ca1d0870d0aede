import type { Registry } from '@tdx/core';
import { htmlReporter } from './html-reporter.js';
import { optimizerGapReporter } from './optimizer-gap.js';
import { summaryCsvReporter } from './summary-csv-reporter.js';

/** Registers the reporters `summary-csv`, `html` and `optimizer-gap`. */
export function register(registry: Registry): Registry {
  return registry.register(summaryCsvReporter, htmlReporter, optimizerGapReporter);
}
