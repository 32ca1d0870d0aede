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

const TICK_FONT = 10;
const TITLE_FONT = 12;
/** Width of a Helvetica character, as a fraction of the font size (digits are 0.556). */
const CHAR_WIDTH = 0.6;

interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** A centred text's box in screen units, `unitsPerPx` units a pixel, with `pad` pixels around. */
function textBox(
  [x, y]: [number, number],
  text: string,
  fontSize: number,
  unitsPerPx: number,
  pad = 3,
): Box {
  const w = (text.length * CHAR_WIDTH * fontSize + 2 * pad) * unitsPerPx;
  const h = (fontSize + 2 * pad) * unitsPerPx;
  return { x0: x - w / 2, x1: x + w / 2, y0: y - h / 2, y1: y + h / 2 };
}

const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * Where an axis title goes: off the middle of its floor edge (from `a` to `b` on screen), away
 * from the floor's centre `c`, past that axis's own tick labels (`own`) and clear of every
 * label's box.
 */
function titlePosition(
  a: [number, number],
  b: [number, number],
  c: [number, number],
  text: string,
  own: ReadonlyArray<{ at: [number, number]; box: Box }>,
  labels: ReadonlyArray<{ at: [number, number]; box: Box }>,
  unitsPerPx: number,
): [number, number] {
  const mid: [number, number] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
  let n: [number, number] = [-(b[1] - a[1]) / length, (b[0] - a[0]) / length];
  if (n[0] * (mid[0] - c[0]) + n[1] * (mid[1] - c[1]) < 0) n = [-n[0], -n[1]];
  const along = (p: [number, number]) => (p[0] - mid[0]) * n[0] + (p[1] - mid[1]) * n[1];
  // Start past the farthest of the labels next to this edge (those on the outer side of it).
  const beyond = Math.max(0, ...own.map((l) => along(l.at)));
  const step = 2 * unitsPerPx;
  let position = mid;
  for (let t = beyond; t < beyond + 400 * unitsPerPx; t += step) {
    position = [mid[0] + n[0] * t, mid[1] + n[1] * t];
    const box = textBox(position, text, TITLE_FONT, unitsPerPx);
    if (!labels.some((l) => overlaps(box, l.box))) break;
  }
  return position;
}

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
  type Label = { lon: number; lat: number; text: string; anchor: 'center' | 'right' };
  const xLabels: Label[] = (xRange ? niceTicks(xRange[0], xRange[1], 4) : []).map((v) => {
    const [lon, lat] = at(ux(v), nearY * out, floor);
    return { lon, lat, text: label(v), anchor: 'center' };
  });
  const yLabels: Label[] = (yRange ? niceTicks(yRange[0], yRange[1], 4) : []).map((v) => {
    const [lon, lat] = at(nearX * out, uy(v), floor);
    return { lon, lat, text: label(v), anchor: 'center' };
  });
  const zTicks = zRange
    ? figure.logZ && zRange[1] - zRange[0] >= 1
      ? niceTicks(Math.ceil(zRange[0]), Math.floor(zRange[1]), 4).filter(Number.isInteger)
      : niceTicks(zRange[0], zRange[1], 4)
    : [];
  const zLabels: Label[] = zTicks.map((v) => {
    const [lon, lat] = at(zx, zy, HEIGHT_RATIO * uz(v));
    return { lon: lon - 0.06, lat, text: label(figure.logZ ? 10 ** v : v), anchor: 'right' };
  });
  const texts = [...xLabels, ...yLabels, ...zLabels];

  // The x and y titles clear every tick label. Vega-Lite fits the drawing into the plot, so a
  // pixel is about the drawing's extent over the plot's size (measured again with the titles).
  const zTitle = { at: at(zx, zy, top + 0.25), text: figure.zLabel };
  const drawn: Array<[number, number]> = [
    ...frame.flatMap((f) => f.geometry.coordinates),
    ...quads.flatMap((q) => q.geometry.coordinates[0]!),
    ...texts.map((t): [number, number] => [t.lon, t.lat]),
    zTitle.at,
  ];
  const centre = at(0, 0, floor);
  const place = (extra: Array<[number, number]>): Array<[number, number]> => {
    const all = [...drawn, ...extra];
    const xs = extent(all.map((p) => p[0]));
    const ys = extent(all.map((p) => p[1]));
    const unitsPerPx =
      xs && ys ? Math.max((xs[1] - xs[0]) / WIDTH, (ys[1] - ys[0]) / HEIGHT) : 1 / WIDTH;
    const boxed = (l: Label) => {
      // A right-aligned label's centre is half its width left of its anchor.
      const half = (l.text.length * CHAR_WIDTH * TICK_FONT * unitsPerPx) / 2;
      const at: [number, number] = [l.anchor === 'right' ? l.lon - half : l.lon, l.lat];
      return { at, box: textBox(at, l.text, TICK_FONT, unitsPerPx) };
    };
    const every = texts.map(boxed);
    return [
      titlePosition(
        at(-1, nearY, floor),
        at(1, nearY, floor),
        centre,
        figure.x.label,
        xLabels.map(boxed),
        every,
        unitsPerPx,
      ),
      titlePosition(
        at(nearX, -1, floor),
        at(nearX, 1, floor),
        centre,
        figure.y.label,
        yLabels.map(boxed),
        every,
        unitsPerPx,
      ),
    ];
  };
  const [xTitle, yTitle] = place(place([]));
  const titles = [
    { at: xTitle!, text: figure.x.label },
    { at: yTitle!, text: figure.y.label },
    zTitle,
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
