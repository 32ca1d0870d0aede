/** The `html` reporter: `<experiment>/report.html` and every figure as `figures/<id>.svg`. */
import { join } from 'node:path';
import {
  definePlugin,
  z,
  type ExperimentData,
  type ReportContext,
  type ReporterInstance,
  type ReportSection,
} from '@tdx/core';
import {
  renderExperimentFigures,
  renderFigures,
  type RenderedFigure,
} from './experiment-figures.js';
import { reportPage, type RenderedSection } from './page.js';
import { writeReportFile } from './write-file.js';
import { isNotLoaded, messageOf } from './plugin-errors.js';

export const htmlReporter = definePlugin({
  kind: 'reporter',
  name: 'html',
  description:
    'report.html, self-contained (figures inline, runs table, spec), and figures/<id>.svg',
  config: z.object({ title: z.string().min(1).optional() }),
  create: (config): ReporterInstance => ({
    report: async (data: ExperimentData, ctx: ReportContext) => {
      const figures = await renderExperimentFigures(data, ctx);
      const sections = await renderSections(reporterSections(data, ctx));
      const svgFiles = [...sections.flatMap((s) => s.figures), ...figures].flatMap(
        ({ figure, svg }) =>
          svg === undefined
            ? []
            : [writeReportFile(join(data.dir, 'figures', `${figure.id}.svg`), svg)],
      );
      const page = reportPage(data, figures, {
        sections,
        ...(config.title === undefined ? {} : { title: config.title }),
        generatedAt: new Date().toISOString(),
      });
      return [writeReportFile(join(data.dir, 'report.html'), page), ...svgFiles];
    },
  }),
});

/**
 * The sections the experiment's other reporters contribute (their `section`), in the spec's
 * order. A reporter that cannot be created here (a plugin module not loaded) or fails is left
 * out: it costs its section, not the report.
 */
export function reporterSections(data: ExperimentData, ctx: ReportContext): ReportSection[] {
  const refs: unknown[] = Array.isArray(data.spec.reporters) ? data.spec.reporters : [];
  return refs.flatMap((ref, i) => {
    if (ref === 'html' || (ref as { name?: unknown } | null)?.name === 'html') return [];
    try {
      const reporter = ctx.registry.create('reporter', ref, {
        path: `reporters[${i}]`,
      });
      const section = reporter.section?.(data, ctx);
      return section ? [section] : [];
    } catch (error) {
      // A reporter of a plugin module not loaded here costs its section; any other failure
      // is reported.
      if (!isNotLoaded(error))
        ctx.problem?.(`the section of reporter reporters[${i}] failed: ${messageOf(error)}`);
      return [];
    }
  });
}

async function renderSections(sections: ReportSection[]): Promise<RenderedSection[]> {
  const out: RenderedSection[] = [];
  for (const section of sections) {
    const figures: RenderedFigure[] = await renderFigures(section.figures ?? []);
    out.push({ ...section, figures });
  }
  return out;
}
