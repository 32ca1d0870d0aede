/** 3-D surfaces: the projection, the painter's order, holes, log heights and the SVG. */
import { describe, expect, it } from 'vitest';
import type { SurfaceFigure } from '@tdx/core';
import { renderFigure } from '../src/index.js';
import {
  HEIGHT_RATIO,
  niceTicks,
  surfaceProjection,
  surfaceQuads,
  surfaceSpec,
} from '../src/figures/surface.js';
import { countMarks, hasText } from './support/svg.js';

const grid = [-1, -0.5, 0, 0.5, 1];
const bowl: SurfaceFigure = {
  kind: 'surface',
  id: 'landscape',
  title: 'Loss surface',
  x: { label: 'direction 1', values: grid },
  y: { label: 'direction 2', values: grid },
  z: grid.map((y) => grid.map((x) => 1 + x * x + 2 * y * y)),
  zLabel: 'loss',
};

describe('the projection', () => {
  it('is a rotation: screen axes and depth are orthonormal', () => {
    const p = surfaceProjection(-60, 30);
    const rows = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ].map(([x, y, z]) => p(x!, y!, z!));
    const axis = (k: 'x' | 'y' | 'depth') => rows.map((r) => r[k]);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    for (const a of ['x', 'y', 'depth'] as const)
      for (const b of ['x', 'y', 'depth'] as const)
        expect(dot(axis(a), axis(b))).toBeCloseTo(a === b ? 1 : 0, 12);
    // matplotlib's default view: the vertical stays vertical, the viewer is above (+z nearer).
    const up = p(0, 0, 1);
    expect(up.x).toBeCloseTo(0, 15);
    expect(up.y).toBeCloseTo(Math.cos(Math.PI / 6), 15);
    expect(up.depth).toBeCloseTo(0.5, 15);
  });

  it('seen from straight above at azimuth −90 is the plain map: x right, y up', () => {
    const quads = surfaceQuads({ ...bowl, azimuth: -90, elevation: 90 });
    expect(quads).toHaveLength(16);
    for (const q of quads) {
      const expected = [
        [q.i, q.j],
        [q.i, q.j + 1],
        [q.i + 1, q.j + 1],
        [q.i + 1, q.j],
      ].map(([i, j]) => [grid[j]!, grid[i]!]);
      q.corners.forEach(([x, y], k) => {
        expect(x).toBeCloseTo(expected[k]![0]!, 12);
        expect(y).toBeCloseTo(expected[k]![1]!, 12);
      });
    }
  });
});

describe('the cells', () => {
  it('come far to near, each coloured by the mean of its corners', () => {
    const quads = surfaceQuads(bowl);
    expect(quads).toHaveLength(16);
    for (let k = 1; k < quads.length; k++)
      expect(quads[k]!.depth).toBeGreaterThanOrEqual(quads[k - 1]!.depth);
    // From azimuth −60 the viewer is on the +x, −y side: the far cell is at (x = −1, y = +1)
    // (row i = 3, column j = 0), the near one at (x = +1, y = −1).
    expect([quads[0]!.i, quads[0]!.j]).toEqual([3, 0]);
    expect([quads.at(-1)!.i, quads.at(-1)!.j]).toEqual([0, 3]);
    const cell = quads.find((q) => q.i === 0 && q.j === 0)!;
    expect(cell.z).toBeCloseTo(
      (bowl.z[0]![0]! + bowl.z[0]![1]! + bowl.z[1]![0]! + bowl.z[1]![1]!) / 4,
      12,
    );
  });

  it('span the box: the lowest corner on the floor, the highest at the top', () => {
    const flat = surfaceQuads({ ...bowl, azimuth: 0, elevation: 0 });
    // Elevation 0: screen y is the height, scaled into [−HEIGHT_RATIO, HEIGHT_RATIO].
    const ys = flat.flatMap((q) => q.corners.map((c) => c[1]));
    expect(Math.min(...ys)).toBeCloseTo(-HEIGHT_RATIO, 12);
    expect(Math.max(...ys)).toBeCloseTo(HEIGHT_RATIO, 12);
  });

  it('leave holes where a corner is missing, and where log heights are not positive', () => {
    const three = [0, 1, 2];
    const base = { ...bowl, x: { label: 'a', values: three }, y: { label: 'b', values: three } };
    const z = (hole: [number, number], value: number) =>
      three.map((i) => three.map((j) => (i === hole[0] && j === hole[1] ? value : 1 + i + j)));
    expect(surfaceQuads({ ...base, z: z([1, 1], NaN) })).toHaveLength(0);
    expect(surfaceQuads({ ...base, z: z([0, 0], Infinity) })).toHaveLength(3);
    expect(surfaceQuads({ ...base, z: z([2, 2], 0) })).toHaveLength(4);
    const log = surfaceQuads({ ...base, z: z([2, 2], 0), logZ: true });
    expect(log).toHaveLength(3);
    // Log heights: a cell's colour value is the geometric mean of its corners.
    const cell = log.find((q) => q.i === 0 && q.j === 0)!;
    expect(cell.z).toBeCloseTo((1 * 2 * 2 * 3) ** 0.25, 12);
  });
});

describe('ticks', () => {
  it('are round numbers in the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-1, 1, 4)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(0.013, 0.087, 4)).toEqual([0.02, 0.04, 0.06, 0.08]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });
});

describe('the SVG', () => {
  it('draws one shape per cell, the frame, the axis titles and the colour legend', async () => {
    const svg = await renderFigure(bowl);
    expect(svg.startsWith('<svg')).toBe(true);
    // 16 cells, then (first, unlabelled) the floor's outline and the z axis.
    expect(countMarks(svg, 'geoshape')).toBe(16);
    const frame = /layer_0_marks[^>]*>(.*?)<\/g>/.exec(svg)?.[1] ?? '';
    expect(frame.split('<path').length - 1).toBe(2);
    for (const text of ['Loss surface', 'direction 1', 'direction 2', 'loss'])
      expect(hasText(svg, text)).toBe(true);
    expect(svg).toContain('Gradient legend');
    expect(await renderFigure(bowl)).toBe(svg);
  });

  it('labels log heights with their values', async () => {
    const spec = surfaceSpec({
      ...bowl,
      z: bowl.z.map((row) => row.map((v) => 10 ** v)),
      logZ: true,
    });
    const layers = (
      spec as unknown as { layer: Array<{ data: { values: Array<{ text?: string }> } }> }
    ).layer;
    const labels = layers.flatMap((l) => l.data.values.flatMap((v) => (v.text ? [v.text] : [])));
    // z from 10 to 1000: ticks at the decades.
    expect(labels).toEqual(expect.arrayContaining(['10', '100', '1000']));
  });

  it('keeps the x and y titles clear of every tick label, from any side', async () => {
    // Boxes of the drawn texts, read from the SVG: Vega writes a middle-baseline text 0.3 em
    // below its centre; Helvetica's characters are about 0.6 em wide.
    const boxes = (svg: string) =>
      [
        ...svg.matchAll(
          /<text[^>]*transform="translate\(([-\d.e]+),([-\d.e]+)\)"[^>]*font-size="(\d+)px"[^>]*>([^<]*)<\/text>/g,
        ),
      ].map((m) => {
        const [x, y, size, text] = [Number(m[1]), Number(m[2]), Number(m[3]), m[4]!];
        const anchor = /text-anchor="(\w+)"/.exec(m[0])?.[1];
        const w = 0.6 * size * text.length;
        const x0 = anchor === 'end' ? x - w : anchor === 'middle' ? x - w / 2 : x;
        return { text, size, x0, x1: x0 + w, y0: y - 0.8 * size, y1: y + 0.2 * size };
      });
    const views = [
      { azimuth: -60, elevation: 30 },
      { azimuth: 30, elevation: 30 },
      { azimuth: 135, elevation: 20 },
      { azimuth: -150, elevation: 45 },
      { azimuth: -80, elevation: 15 },
    ];
    const wide = grid.map((v) => v * 100);
    for (const view of views) {
      const figure: SurfaceFigure = {
        ...bowl,
        ...view,
        x: { label: 'filter-normalised direction 1', values: wide },
        y: { label: 'Hessian eigenvector 2', values: grid },
      };
      const texts = boxes(await renderFigure(figure));
      const ticks = texts.filter((t) => t.size === 10);
      expect(ticks.length).toBeGreaterThanOrEqual(10);
      for (const title of texts.filter(
        (t) => t.text === figure.x.label || t.text === figure.y.label,
      )) {
        const hit = ticks.find(
          (t) => t.x0 < title.x1 && title.x0 < t.x1 && t.y0 < title.y1 && title.y0 < t.y1,
        );
        expect(hit, `${title.text} at azimuth ${view.azimuth}`).toBeUndefined();
      }
    }
  });
});
