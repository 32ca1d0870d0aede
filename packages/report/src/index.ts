/** @tdx/report: figures rendered offline to SVG, summary.csv and report.html as reporter plugins. */
export { renderFigure, figureToVegaLite } from './figures/render.js';
export { linesSpec } from './figures/lines.js';
export { heatmapSpec } from './figures/heatmap.js';
export { histogramSpec, histogramBins, DEFAULT_BINS, type Bin } from './figures/histogram.js';
export { scatterSpec } from './figures/scatter.js';
export { contourSpec } from './figures/contour.js';
export {
  contourLevels,
  contourSegments,
  visibleGrid,
  DEFAULT_LEVELS,
  type Segment,
} from './figures/contour-lines.js';
export { thinPoints, thinBand, MAX_POINTS } from './figures/thin.js';
export { safeId } from './figures/safe-id.js';
export { renderVega, renderVegaLite, type VegaLiteSpec } from './vega.js';
export { lossFigures } from './loss-figures.js';
export { analysisFigures, analysisRef } from './analysis-figures.js';
export {
  renderExperimentFigures,
  renderFigures,
  uniqueFigureIds,
  type RenderedFigure,
} from './experiment-figures.js';
export { summaryRow, type SummaryRow } from './summary-row.js';
export { summaryCsv, csvField, OUTCOME_COLUMNS } from './summary-csv.js';
export { reportPage, type PageOptions, type RenderedSection } from './page.js';
export { escapeHtml } from './html.js';
export { htmlReporter, reporterSections } from './html-reporter.js';
export * from './optimizer-gap.js';
export * from './rank-correlation.js';
export { summaryCsvReporter } from './summary-csv-reporter.js';
export { register } from './register.js';
export {
  surfaceSpec,
  surfaceQuads,
  surfaceProjection,
  niceTicks,
  HEIGHT_RATIO,
} from './figures/surface.js';
