/**
 * A surface z(x, y) in 3-D, drawn statically: the grid is scaled into the box [−1, 1]³ (height
 * squashed to HEIGHT_RATIO), projected orthographically from the view's azimuth and elevation,
 * and each grid cell becomes a quadrilateral coloured by its mean height (viridis) with a thin
 * wireframe edge. Cells are drawn far to near (the painter's algorithm), which hides what lies
 * behind a height field seen from above. The projected polygons go to Vega-Lite as GeoJSON in
 * an identity projection, so the rendering is the same offline SVG path as every other figure.
 */
import type { SurfaceFigure } from '@tdx/core';
import type { VegaLiteSpec } from '../vega.js';
import { extent } from './common.js';

const WIDTH = 460;
const HEIGHT = 380;
/** The height of the box relative to its width: keeps the surface from towering. */
export const HEIGHT_RATIO = 0.75;

export interface Projected {
  /** Screen coordinates (x right, y up) and depth (larger is nearer the viewer). */
  x: number;
  y: number;
  depth: number;
}

/**
 * The orthographic view from azimuth φ and elevation θ (degrees): the viewer looks from
 * e = (cos θ cos φ, cos θ sin φ, sin θ); screen right is (−sin φ, cos φ, 0), screen up is
 * e's companion (−sin θ cos φ, −sin θ sin φ, cos θ); depth is the component along e.
 */
export function surfaceProjection(
  azimuth = -60,
  elevation = 30,
): (x: number, y: number, z: number) => Projected {
  const phi = (azimuth * Math.PI) / 180;
  const theta = (elevation * Math.PI) / 180;
  const [cp, sp, ct, st] = [Math.cos(phi), Math.sin(phi), Math.cos(theta), Math.sin(theta)];
  return (x, y, z) => ({
    x: -sp * x + cp * y,
    y: -st * cp * x - st * sp * y + ct * z,
    depth: ct * cp * x + ct * sp * y + st * z,
  });
}

export interface SurfaceQuad {
  /** The four projected corners, in order around the cell. */
  corners: Array<[number, number]>;
  /** Mean depth of the corners: quads are sorted by it, farthest first. */
  depth: number;
  /** The cell's colour value: the mean of its corners' z (geometric mean with logZ). */
  z: number;
  /** Grid indices of the cell's first corner. */
  i: number;
  j: number;
}

/** The height transform (log with logZ) and its range over the usable values. */
function heights(figure: SurfaceFigure) {
  const t = (v: number | undefined): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) && (!figure.logZ || v > 0)
      ? figure.logZ
        ? Math.log10(v)
        : v
      : undefined;
  const range = extent(figure.z.flatMap((row) => row.flatMap((v) => t(v) ?? [])));
  return { t, range };
}

/** Maps a value of an axis into [−1, 1]. */
function toUnit(range: [number, number] | undefined): (v: number) => number {
  if (!range || range[0] === range[1]) return () => 0;
  const [lo, hi] = range;
  return (v) => (2 * (v - lo)) / (hi - lo) - 1;
}

/** The projected cells, farthest first; cells with a missing corner are left out. */
export function surfaceQuads(figure: SurfaceFigure): SurfaceQuad[] {
  const project = surfaceProjection(figure.azimuth, figure.elevation);
  const ux = toUnit(extent(figure.x.values));
  const uy = toUnit(extent(figure.y.values));
  const { t, range } = heights(figure);
  const uz = toUnit(range);
  const quads: SurfaceQuad[] = [];
  for (let i = 0; i + 1 < figure.y.values.length; i++) {
    for (let j = 0; j + 1 < figure.x.values.length; j++) {
      const cell: Array<[number, number]> = [
        [i, j],
        [i, j + 1],
        [i + 1, j + 1],
        [i + 1, j],
      ];
      const zs = cell.map(([a, b]) => t(figure.z[a]?.[b]));
      if (zs.some((z) => z === undefined)) continue;
      const points = cell.map(([a, b], k) =>
        project(ux(figure.x.values[b]!), uy(figure.y.values[a]!), HEIGHT_RATIO * uz(zs[k]!)),
      );
      const meanZ = zs.reduce<number>((sum, z) => sum + z!, 0) / 4;
      quads.push({
        corners: points.map((p) => [p.x, p.y]),
        depth: points.reduce((s, p) => s + p.depth, 0) / 4,
        z: figure.logZ ? 10 ** meanZ : meanZ,
        i,
        j,
      });
    }
  }
  // Stable: equal depths keep grid order, so the drawing is the same every time.
  return quads.sort((a, b) => a.depth - b.depth);
}

/** About `count` round tick values in [lo, hi] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return ticks;
}

const label = (v: number) => String(Number(v.toPrecision(3)));

type LineFeature = {
  type: 'Feature';
  properties: Record<string, unknown>;
  geometry: { type: 'LineString'; coordinates: Array<[number, number]> };
};

export function surfaceSpec(figure: SurfaceFigure): VegaLiteSpec {
  const project = surfaceProjection(figure.azimuth, figure.elevation);
  const xRange = extent(figure.x.values);
  const yRange = extent(figure.y.values);
  const { range: zRange } = heights(figure);
  const [ux, uy, uz] = [toUnit(xRange), toUnit(yRange), toUnit(zRange)];
  const at = (x: number, y: number, z: number): [number, number] => {
    const p = project(x, y, z);
    return [p.x, p.y];
  };
  const floor = -HEIGHT_RATIO;
  const top = HEIGHT_RATIO;
  // The edges of the floor nearest the viewer carry the x and y ticks.
  const nearY = project(0, 1, 0).depth > project(0, -1, 0).depth ? 1 : -1;
  const nearX = project(1, 0, 0).depth > project(-1, 0, 0).depth ? 1 : -1;
  // The z axis stands at the floor corner furthest left on screen.
  const corners: Array<[number, number]> = [
    [-1, -1],
    [1, -1],
    [1, 1],
    [-1, 1],
  ];
  const [zx, zy] = corners.reduce((a, b) => (at(b[0], b[1], 0)[0] < at(a[0], a[1], 0)[0] ? b : a));

  const line = (points: Array<[number, number]>): LineFeature => ({
    type: 'Feature',
    properties: {},
    geometry: { type: 'LineString', coordinates: points },
  });
  const frame = [
    line([...corners, corners[0]!].map(([x, y]) => at(x, y, floor))),
    line([at(zx, zy, floor), at(zx, zy, top)]),
  ];
  const quads = surfaceQuads(figure).map((q) => ({
    type: 'Feature' as const,
    properties: { z: q.z },
    geometry: { type: 'Polygon' as const, coordinates: [[...q.corners, q.corners[0]!]] },
  }));

  // Tick labels just outside the floor's near edges; the z ticks left of the z axis.
  const out = 1.18;
  const texts: Array<{ lon: number; lat: number; text: string; anchor: 'center' | 'right' }> = [];
  for (const v of xRange ? niceTicks(xRange[0], xRange[1], 4) : []) {
    const [lon, lat] = at(ux(v), nearY * out, floor);
    texts.push({ lon, lat, text: label(v), anchor: 'center' });
  }
  for (const v of yRange ? niceTicks(yRange[0], yRange[1], 4) : []) {
    const [lon, lat] = at(nearX * out, uy(v), floor);
    texts.push({ lon, lat, text: label(v), anchor: 'center' });
  }
  const zTicks = zRange
    ? figure.logZ && zRange[1] - zRange[0] >= 1
      ? niceTicks(Math.ceil(zRange[0]), Math.floor(zRange[1]), 4).filter(Number.isInteger)
      : niceTicks(zRange[0], zRange[1], 4)
    : [];
  for (const v of zTicks) {
    const [lon, lat] = at(zx, zy, HEIGHT_RATIO * uz(v));
    texts.push({ lon: lon - 0.06, lat, text: label(figure.logZ ? 10 ** v : v), anchor: 'right' });
  }
  const titles = [
    { at: at(0, nearY * 1.5, floor), text: figure.x.label },
    { at: at(nearX * 1.5, 0, floor), text: figure.y.label },
    { at: at(zx, zy, top + 0.25), text: figure.zLabel },
  ].map((t) => ({ lon: t.at[0], lat: t.at[1], text: t.text }));

  const position = {
    longitude: { field: 'lon', type: 'quantitative' as const },
    latitude: { field: 'lat', type: 'quantitative' as const },
    text: { field: 'text', type: 'nominal' as const },
  };
  return {
    title: figure.title,
    width: WIDTH,
    height: HEIGHT,
    projection: { type: 'identity', reflectY: true },
    layer: [
      {
        data: { values: frame },
        mark: { type: 'geoshape', filled: false, stroke: '#999', strokeWidth: 1 },
      },
      {
        data: { values: quads },
        mark: { type: 'geoshape', stroke: '#222', strokeWidth: 0.35, strokeOpacity: 0.7 },
        encoding: {
          color: {
            field: 'properties.z',
            type: 'quantitative' as const,
            title: figure.zLabel,
            scale: { scheme: 'viridis', ...(figure.logZ ? { type: 'log' as const } : {}) },
          },
        },
      },
      ...(['center', 'right'] as const).map((anchor) => ({
        data: { values: texts.filter((t) => t.anchor === anchor) },
        mark: {
          type: 'text' as const,
          fontSize: 10,
          align: anchor,
          baseline: 'middle' as const,
          color: '#444',
        },
        encoding: position,
      })),
      {
        data: { values: titles },
        mark: {
          type: 'text' as const,
          fontSize: 12,
          align: 'center' as const,
          baseline: 'middle' as const,
        },
        encoding: position,
      },
    ],
  } as VegaLiteSpec;
}
