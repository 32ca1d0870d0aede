/**
 * Iso-lines of z over a grid by marching squares, computed here rather than by Vega so that
 * they are exact linear interpolations of the grid values and testable as data.
 */
import type { ContourFigure } from '@tdx/core';
import { extent } from './common.js';

export const DEFAULT_LEVELS = 12;

/** A piece of iso-line inside one grid cell, from (x, y) to (x2, y2). */
export interface Segment {
  level: number;
  x: number;
  y: number;
  x2: number;
  y2: number;
}

/**
 * The figure restricted to what its axes can show: on a log axis, grid lines at non-positive
 * coordinates are dropped (with their row or column of z).
 */
export function visibleGrid(figure: ContourFigure): ContourFigure {
  const keep = (values: number[], log: boolean | undefined) =>
    values.flatMap((v, i) => (Number.isFinite(v) && (!log || v > 0) ? [i] : []));
  const columns = keep(figure.x.values, figure.x.log);
  const rows = keep(figure.y.values, figure.y.log);
  if (columns.length === figure.x.values.length && rows.length === figure.y.values.length)
    return figure;
  return {
    ...figure,
    x: { ...figure.x, values: columns.map((j) => figure.x.values[j]!) },
    y: { ...figure.y, values: rows.map((i) => figure.y.values[i]!) },
    z: rows.map((i) => columns.map((j) => figure.z[i]?.[j] ?? NaN)),
  };
}

/**
 * The contour levels: `levels` values evenly spaced strictly inside the range of z (the
 * extremes themselves would be single points), log-spaced when `logLevels` is set (then only
 * positive z count).
 */
export function contourLevels(figure: ContourFigure): number[] {
  const log = figure.logLevels;
  const t = (v: number) => (log ? Math.log(v) : v);
  const inverse = (v: number) => (log ? Math.exp(v) : v);
  const range = extent(
    figure.z
      .flat()
      .filter((v) => Number.isFinite(v) && (!log || v > 0))
      .map(t),
  );
  if (!range || range[0] === range[1]) return [];
  const [lo, hi] = range;
  const count = Math.max(1, Math.round(figure.levels ?? DEFAULT_LEVELS));
  return Array.from({ length: count }, (_, i) => inverse(lo + ((i + 1) * (hi - lo)) / (count + 1)));
}

type Corner = readonly [x: number, y: number, z: number];

/** Where z crosses `level` on the edge from a to b, by linear interpolation. */
function crossing(level: number, a: Corner, b: Corner): readonly [number, number] {
  const s = (level - a[2]) / (b[2] - a[2]);
  return [a[0] + s * (b[0] - a[0]), a[1] + s * (b[1] - a[1])];
}

/** The segments of one level inside one cell (corners counter-clockwise from bottom left). */
function cellSegments(level: number, corners: readonly Corner[]): Segment[] {
  const points: Array<readonly [number, number]> = [];
  for (let e = 0; e < 4; e++) {
    const a = corners[e]!;
    const b = corners[(e + 1) % 4]!;
    if (a[2] < level !== b[2] < level) points.push(crossing(level, a, b));
  }
  const segment = (p: readonly [number, number], q: readonly [number, number]): Segment => ({
    level,
    x: p[0],
    y: p[1],
    x2: q[0],
    y2: q[1],
  });
  if (points.length === 2) {
    // A level through a corner crosses two edges at that corner: nothing to draw.
    const [p, q] = points as [readonly [number, number], readonly [number, number]];
    return p[0] === q[0] && p[1] === q[1] ? [] : [segment(p, q)];
  }
  if (points.length !== 4) return [];
  // A saddle: the value at the centre says which crossings belong together.
  const centre = corners.reduce((sum, c) => sum + c[2], 0) / 4;
  const [p0, p1, p2, p3] = points as [
    readonly [number, number],
    readonly [number, number],
    readonly [number, number],
    readonly [number, number],
  ];
  return corners[0]![2] < level === centre < level
    ? [segment(p0, p1), segment(p2, p3)]
    : [segment(p1, p2), segment(p3, p0)];
}

/** Marching squares over the grid: the segments where z crosses each level. */
export function contourSegments(figure: ContourFigure, levels = contourLevels(figure)): Segment[] {
  const xs = figure.x.values;
  const ys = figure.y.values;
  const z = (i: number, j: number) => figure.z[i]?.[j] ?? NaN;
  const segments: Segment[] = [];
  for (const level of levels) {
    for (let i = 0; i + 1 < ys.length; i++) {
      for (let j = 0; j + 1 < xs.length; j++) {
        const corners: Corner[] = [
          [xs[j]!, ys[i]!, z(i, j)],
          [xs[j + 1]!, ys[i]!, z(i, j + 1)],
          [xs[j + 1]!, ys[i + 1]!, z(i + 1, j + 1)],
          [xs[j]!, ys[i + 1]!, z(i + 1, j)],
        ];
        // A cell with a missing corner has no well-defined crossing: it is skipped.
        if (corners.some((c) => !Number.isFinite(c[2]))) continue;
        segments.push(...cellSegments(level, corners));
      }
    }
  }
  return segments;
}
