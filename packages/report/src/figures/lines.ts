/**
 * Lines over x, one per series, each with its translucent band underneath in the same colour:
 * loss curves, spectral densities, analysis values over steps.
 */
import type { Axis, DensityFigure, LinesFigure } from '@tdx/core';
import type { VegaLiteSpec } from '../vega.js';
import { fits, HEIGHT, scaleOf, seriesColor, uniqueNames, WIDTH } from './common.js';
import { thinBand, thinPoints } from './thin.js';

const byX = (a: { x: number }, b: { x: number }) => a.x - b.x;

/**
 * Series of at most this many points get a marker at each point: an analysis run at a few
 * steps shows where it was measured, not only segments between them. Denser curves (a loss
 * logged every few steps) stay plain lines.
 */
export const MARKED_POINTS = 30;

/** Densities are drawn on a log scale unless the figure says otherwise (see DensityFigure). */
function yAxisOf(figure: LinesFigure | DensityFigure): Axis {
  return figure.kind === 'density' && figure.y.log === undefined
    ? { ...figure.y, log: true }
    : figure.y;
}

export function linesSpec(figure: LinesFigure | DensityFigure): VegaLiteSpec {
  const xAxis = figure.x;
  const yAxis = yAxisOf(figure);
  const names = uniqueNames(figure.series.map((s) => s.name));
  // Points a log axis cannot show are dropped, not drawn at zero and not an error.
  const visible = figure.series.map((s, i) => ({
    name: names[i]!,
    points: thinPoints(
      s.points.filter((p) => fits(p.x, xAxis.log) && fits(p.y, yAxis.log)).sort(byX),
    ),
    band: thinBand(
      (s.band ?? [])
        .filter((b) => fits(b.x, xAxis.log) && fits(b.lo, yAxis.log) && fits(b.hi, yAxis.log))
        .sort(byX),
    ),
  }));
  const lines = visible.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y })));
  // Sparse series get a marker per point (a line through one point would draw nothing).
  const dots = visible.flatMap((s) =>
    s.points.length <= MARKED_POINTS
      ? s.points.map((p) => ({ series: s.name, x: p.x, y: p.y }))
      : [],
  );
  const bands = visible.flatMap((s) =>
    s.band.map((b) => ({ series: s.name, x: b.x, lo: b.lo, hi: b.hi })),
  );
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: xAxis.label,
    scale: scaleOf(xAxis),
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    title: yAxis.label,
    scale: scaleOf(yAxis),
  };
  const color = seriesColor(names);
  return {
    title: figure.title,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      // Bands first, so that lines are drawn over them.
      ...(bands.length > 0
        ? [
            {
              data: { values: bands },
              mark: { type: 'area' as const, opacity: 0.18, clip: true },
              encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
            },
          ]
        : []),
      {
        data: { values: lines },
        mark: { type: 'line' as const, strokeWidth: 1.6, clip: true },
        encoding: { x, y, color },
      },
      ...(dots.length > 0
        ? [
            {
              data: { values: dots },
              mark: { type: 'point' as const, filled: true, size: 30, clip: true },
              encoding: { x, y, color },
            },
          ]
        : []),
    ],
  } as VegaLiteSpec;
}
