/** Every figure of an experiment, rendered: loss figures first, then tuning, then the analyses'. */
import { tunedView, type ExperimentData, type FigureSpec, type ReportContext } from '@tdx/core';
import { analysisFigures } from './analysis-figures.js';
import { renderFigure } from './figures/render.js';
import { safeId } from './figures/safe-id.js';
import { finalLossDistribution } from './group-summary.js';
import { lossFigures } from './loss-figures.js';
import { summaryRow } from './summary-row.js';

import { tuningFigures } from './tuning.js';

export interface RenderedFigure {
  /** The figure, its id made a unique, safe file name. */
  figure: FigureSpec;
  /** The SVG, or undefined when the figure could not be drawn (then `error` says why). */
  svg?: string;
  error?: string;
}

/** Ids made safe as file names and unique (`loss`, `loss-2`), in order. */
export function uniqueFigureIds(figures: readonly FigureSpec[]): FigureSpec[] {
  const seen = new Set<string>();
  return figures.map((figure) => {
    const base = safeId(figure.id);
    let id = base;
    for (let i = 2; seen.has(id); i++) id = `${base}-${i}`;
    seen.add(id);
    return { ...figure, id };
  });
}

export async function renderExperimentFigures(
  data: ExperimentData,
  ctx: ReportContext,
): Promise<RenderedFigure[]> {
  // A tuned spec is shown at each optimizer's best value; the tuning figures show the rest.
  const shown = tunedView(data);
  const figures = uniqueFigureIds([
    ...lossFigures(shown),
    ...finalLossDistribution(shown.runs.map((run) => summaryRow(run))),
    ...tuningFigures(data),
    ...analysisFigures(shown, ctx),
  ]);
  return renderFigures(figures);
}

/** Figures rendered to SVG one after another; a figure that fails keeps its error instead. */
export async function renderFigures(figures: readonly FigureSpec[]): Promise<RenderedFigure[]> {
  const rendered: RenderedFigure[] = [];
  // One after another: each render is quick, and the order of the page is the order here.
  for (const figure of figures) {
    try {
      rendered.push({ figure, svg: await renderFigure(figure) });
    } catch (error) {
      // A malformed figure (from an analysis plugin) costs that figure, not the report.
      rendered.push({ figure, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return rendered;
}
