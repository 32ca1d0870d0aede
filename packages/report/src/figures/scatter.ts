/**
 * Points, one marker shape per series, coloured by a number on a continuous scale when the
 * points carry one (the step: directional smoothness against gradient norm, Ahn et al. 2023),
 * else coloured by series.
 */
import type { ScatterFigure } from '@tdx/core';
import type { VegaLiteSpec } from '../vega.js';
import { fits, HEIGHT, scaleOf, seriesColor, uniqueNames, WIDTH } from './common.js';

/** Points without a colour, among points with one. */
const UNCOLOURED = '#9a9a9a';

interface Row {
  series: string;
  x: number;
  y: number;
  color?: number;
}

export function scatterSpec(figure: ScatterFigure): VegaLiteSpec {
  const names = uniqueNames(figure.series.map((s) => s.name));
  // Points a log axis cannot show are dropped, not drawn at zero and not an error.
  const rows: Row[] = figure.series.flatMap((s, i) =>
    s.points
      .filter((p) => fits(p.x, figure.x.log) && fits(p.y, figure.y.log))
      .map((p) => ({
        series: names[i]!,
        x: p.x,
        y: p.y,
        ...(typeof p.color === 'number' && Number.isFinite(p.color) ? { color: p.color } : {}),
      })),
  );
  // Later colours drawn over earlier ones: the end of a trajectory stays visible.
  const coloured = rows.filter((r) => r.color !== undefined).sort((a, b) => a.color! - b.color!);
  const plain = rows.filter((r) => r.color === undefined);
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: figure.x.label,
    scale: scaleOf(figure.x),
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    title: figure.y.label,
    scale: scaleOf(figure.y),
  };
  const mark = { type: 'point' as const, filled: true, size: 26, opacity: 0.8, clip: true };
  if (coloured.length === 0) {
    return {
      title: figure.title,
      width: WIDTH,
      height: HEIGHT,
      data: { values: plain },
      mark,
      encoding: { x, y, color: seriesColor(names) },
    } as VegaLiteSpec;
  }
  // The colour channel carries the number: series are told apart by their marker shape.
  const shape =
    names.length > 1
      ? {
          shape: {
            field: 'series',
            type: 'nominal' as const,
            title: null,
            scale: { domain: [...names] },
            legend: { labelLimit: 400 },
          },
        }
      : {};
  return {
    title: figure.title,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      ...(plain.length > 0
        ? [
            {
              data: { values: plain },
              mark: { ...mark, color: UNCOLOURED },
              encoding: { x, y, ...shape },
            },
          ]
        : []),
      {
        data: { values: coloured },
        mark,
        encoding: {
          x,
          y,
          ...shape,
          color: {
            field: 'color',
            type: 'quantitative' as const,
            title: figure.colorLabel ?? null,
            scale: { scheme: 'viridis' },
          },
        },
      },
    ],
  } as VegaLiteSpec;
}
