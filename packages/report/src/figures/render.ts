/** A figure spec of any kind to its Vega-Lite spec, and to SVG. */
import type { FigureSpec } from '@tdx/core';
import { renderVegaLite, type VegaLiteSpec } from '../vega.js';
import { contourSpec } from './contour.js';
import { heatmapSpec } from './heatmap.js';
import { histogramSpec } from './histogram.js';
import { linesSpec } from './lines.js';
import { safeId } from './safe-id.js';
import { scatterSpec } from './scatter.js';
import { surfaceSpec } from './surface.js';

export function figureToVegaLite(figure: FigureSpec): VegaLiteSpec {
  switch (figure.kind) {
    case 'lines':
    case 'density':
      return linesSpec(figure);
    case 'heatmap':
      return heatmapSpec(figure);
    case 'histogram':
      return histogramSpec(figure);
    case 'contour':
      return contourSpec(figure);
    case 'scatter':
      return scatterSpec(figure);
    case 'surface':
      return surfaceSpec(figure);
  }
}

/**
 * The figure as an SVG document (a string starting with `<svg`), the same string for the
 * same spec. Its ids start with `tdx-<figure id>-`, unique in a page of figures of unique ids.
 */
export function renderFigure(figure: FigureSpec): Promise<string> {
  return renderVegaLite(figureToVegaLite(figure), `tdx-${safeId(figure.id)}`);
}
