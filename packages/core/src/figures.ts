/**
 * Figures as data. Analyses and reporters describe figures with these specs; a reporter
 * (@tdx/report) renders them to SVG. Keeping them declarative keeps the core free of any
 * plotting library and makes every figure testable as data.
 */

export interface Axis {
  label: string;
  /** Logarithmic scale (values must be positive; non-positive points are dropped). */
  log?: boolean;
}

export interface Point {
  x: number;
  y: number;
}

/** A band around a line, e.g. min..max or mean ± std over seeds. */
export interface BandPoint {
  x: number;
  lo: number;
  hi: number;
}

export interface Series {
  name: string;
  points: Point[];
  band?: BandPoint[];
}

interface FigureBase {
  /** Unique within a report; names the SVG file (`figures/<id>.svg`). */
  id: string;
  title: string;
  /** One or two sentences under the figure: what is plotted and how it was computed. */
  caption?: string;
}

/** Lines over x, one per series, optional bands: loss curves, eigenvalues over training. */
export interface LinesFigure extends FigureBase {
  kind: 'lines';
  x: Axis;
  y: Axis;
  series: Series[];
}

/** Spectral densities: lines over eigenvalue, log density by default. */
export interface DensityFigure extends FigureBase {
  kind: 'density';
  x: Axis;
  y: Axis;
  series: Series[];
}

/** A matrix of values, e.g. Jensen–Shannon distances between blocks. */
export interface HeatmapFigure extends FigureBase {
  kind: 'heatmap';
  rows: string[];
  columns: string[];
  /** values[i][j] for rows[i], columns[j]; null where undefined. */
  values: Array<Array<number | null>>;
  colorLabel: string;
}

/** Histograms of raw samples, one per series, over shared bins. */
export interface HistogramFigure extends FigureBase {
  kind: 'histogram';
  x: Axis;
  series: Array<{ name: string; values: number[] }>;
  /** Number of bins (default 40). */
  bins?: number;
  /** Normalise to a density (area 1) rather than counts. */
  density?: boolean;
}

/** Level sets of z over a grid, e.g. a 2-D loss landscape. */
export interface ContourFigure extends FigureBase {
  kind: 'contour';
  x: Axis & { values: number[] };
  y: Axis & { values: number[] };
  /** z[i][j] at (x.values[j], y.values[i]). */
  z: number[][];
  zLabel: string;
  /** Number of contour levels (default 12). */
  levels?: number;
  /** Space levels logarithmically (z must be positive). */
  logLevels?: boolean;
}

/**
 * A surface z(x, y) over a grid in 3-D (an orthographic view from `azimuth` and `elevation`),
 * drawn as quadrilaterals coloured by height, far to near, with a wireframe:
 * a 2-D loss landscape as Li et al. (2018) show it.
 */
export interface SurfaceFigure extends FigureBase {
  kind: 'surface';
  x: { label: string; values: number[] };
  y: { label: string; values: number[] };
  /** z[i][j] at (x.values[j], y.values[i]), as in a contour; non-finite values leave holes. */
  z: number[][];
  zLabel: string;
  /** Height (and colour) on a log scale (z must be positive; other cells are left out). */
  logZ?: boolean;
  /** Where the viewer stands, degrees counter-clockwise from +x (default −60, as matplotlib: the +x, −y side). */
  azimuth?: number;
  /** Degrees above the x–y plane (default 30). */
  elevation?: number;
}

/** A point of a scatter; `color` places it on the figure's continuous colour scale. */
export interface ScatterPoint extends Point {
  color?: number;
}

/**
 * Points, one marker shape per series, optionally coloured by a number (the step, say):
 * directional smoothness against gradient norm. Points without a colour are drawn grey when
 * others have one.
 */
export interface ScatterFigure extends FigureBase {
  kind: 'scatter';
  x: Axis;
  y: Axis;
  series: Array<{ name: string; points: ScatterPoint[] }>;
  /** Title of the colour legend (what `color` is). */
  colorLabel?: string;
}

export type FigureSpec =
  | LinesFigure
  | DensityFigure
  | HeatmapFigure
  | HistogramFigure
  | ContourFigure
  | ScatterFigure
  | SurfaceFigure;

export type FigureKind = FigureSpec['kind'];
