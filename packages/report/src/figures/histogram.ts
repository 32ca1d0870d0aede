/** Histograms of raw samples over shared bins (log-spaced on a log axis), as counts or densities. */
import type { HistogramFigure } from '@tdx/core';
import type { VegaLiteSpec } from '../vega.js';
import { extent, fits, HEIGHT, scaleOf, seriesColor, uniqueNames, WIDTH } from './common.js';

export const DEFAULT_BINS = 40;

export interface Bin {
  series: string;
  start: number;
  end: number;
  /** A count, or a density (count / (samples × bin width)) when the figure asks for densities. */
  value: number;
}

/** Shared bin edges over every series; each series counted (or normalised to area 1). */
export function histogramBins(figure: HistogramFigure): Bin[] {
  const log = figure.x.log;
  const names = uniqueNames(figure.series.map((s) => s.name));
  const kept = figure.series.map((s) => s.values.filter((v) => fits(v, log)));
  const t = (v: number) => (log ? Math.log(v) : v);
  const inverse = (v: number) => (log ? Math.exp(v) : v);
  const range = extent(kept.flat().map(t));
  if (!range) return [];
  let [lo, hi] = range;
  if (lo === hi) {
    // Every sample equal: one unit-wide range around it, so that the bins have a width.
    lo -= 0.5;
    hi += 0.5;
  }
  const bins = Math.max(1, Math.round(figure.bins ?? DEFAULT_BINS));
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => inverse(lo + i * width));
  return kept.flatMap((values, s) => {
    const counts = new Array<number>(bins).fill(0);
    // The largest sample falls on the last edge: it belongs to the last bin.
    for (const v of values) counts[Math.min(bins - 1, Math.floor((t(v) - lo) / width))]!++;
    return counts.map((count, i) => {
      const start = edges[i]!;
      const end = edges[i + 1]!;
      const value = figure.density
        ? values.length > 0
          ? count / (values.length * (end - start))
          : 0
        : count;
      return { series: names[s]!, start, end, value };
    });
  });
}

export function histogramSpec(figure: HistogramFigure): VegaLiteSpec {
  const names = uniqueNames(figure.series.map((s) => s.name));
  return {
    title: figure.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: histogramBins(figure) },
    // Overlapping series stay readable when translucent.
    mark: { type: 'bar' as const, opacity: names.length > 1 ? 0.55 : 0.85, binSpacing: 0 },
    encoding: {
      x: {
        field: 'start',
        type: 'quantitative' as const,
        title: figure.x.label,
        scale: scaleOf(figure.x),
      },
      x2: { field: 'end' },
      y: {
        field: 'value',
        type: 'quantitative' as const,
        title: figure.density ? 'density' : 'count',
        stack: null,
      },
      // From zero: with only x and x2 given, Vega-Lite would draw thin bars at the value.
      y2: { datum: 0 },
      color: seriesColor(names),
    },
  } as VegaLiteSpec;
}
