/** The `summary-csv` reporter: `<experiment>/summary.csv`. */
import { join } from 'node:path';
import { definePlugin, z, type ExperimentData, type ReporterInstance } from '@tdx/core';
import { summaryCsv } from './summary-csv.js';
import { writeReportFile } from './write-file.js';

export const summaryCsvReporter = definePlugin({
  kind: 'reporter',
  name: 'summary-csv',
  description:
    'summary.csv: one row per run, its outcome (final and best loss, steps, wall time) and its config',
  config: z.object({}),
  create: (): ReporterInstance => ({
    report: (data: ExperimentData) => [
      writeReportFile(join(data.dir, 'summary.csv'), summaryCsv(data)),
    ],
  }),
});
