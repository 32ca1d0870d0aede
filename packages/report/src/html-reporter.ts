/** The `html` reporter: `<experiment>/report.html` and every figure as `figures/<id>.svg`. */
import { join } from 'node:path';
import {
  definePlugin,
  z,
  type ExperimentData,
  type ReportContext,
  type ReporterInstance,
} from '@tdx/core';
import { renderExperimentFigures } from './experiment-figures.js';
import { reportPage } from './page.js';
import { writeReportFile } from './write-file.js';

export const htmlReporter = definePlugin({
  kind: 'reporter',
  name: 'html',
  description:
    'report.html, self-contained (figures inline, runs table, spec), and figures/<id>.svg',
  config: z.object({ title: z.string().min(1).optional() }),
  create: (config): ReporterInstance => ({
    report: async (data: ExperimentData, ctx: ReportContext) => {
      const figures = await renderExperimentFigures(data, ctx);
      const svgFiles = figures.flatMap(({ figure, svg }) =>
        svg === undefined
          ? []
          : [writeReportFile(join(data.dir, 'figures', `${figure.id}.svg`), svg)],
      );
      const page = reportPage(data, figures, {
        ...(config.title === undefined ? {} : { title: config.title }),
        generatedAt: new Date().toISOString(),
      });
      return [writeReportFile(join(data.dir, 'report.html'), page), ...svgFiles];
    },
  }),
});
