import type { Registry } from '@tdx/core';
import { htmlReporter } from './html-reporter.js';
import { summaryCsvReporter } from './summary-csv-reporter.js';

/** Registers the reporters `summary-csv` and `html`. */
export function register(registry: Registry): Registry {
  return registry.register(summaryCsvReporter, htmlReporter);
}
