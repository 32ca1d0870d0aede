/** Contours: levels (linear or log-spaced), marching squares, log axes. */
import { describe, expect, it } from 'vitest';
import type { ContourFigure } from '@tdx/core';
import {
  contourLevels,
  contourSegments,
  contourSpec,
  renderFigure,
  visibleGrid,
} from '../src/index.js';
import { countMarks } from './support/svg.js';

const xs = [0, 0.25, 0.5, 0.75, 1];
const plane: ContourFigure = {
  kind: 'contour',
  id: 'landscape',
  title: 'Loss landscape',
  x: { label: 'direction 1', values: xs },
  y: { label: 'direction 2', values: xs },
  z: xs.map(() => xs.map((x) => x)), // z = x: the level sets are vertical lines
  zLabel: 'loss',
  levels: 3,
};

describe('contour levels', () => {
  it('are evenly spaced strictly inside the range of z', () => {
    expect(contourLevels(plane)).toEqual([0.25, 0.5, 0.75]);
  });

  it('are 12 unless the figure says otherwise', () => {
    expect(contourLevels({ ...plane, levels: undefined })).toHaveLength(12);
  });

  it('are log-spaced with logLevels, over the positive values only', () => {
    const levels = contourLevels({
      ...plane,
      z: [
        [1, 10],
        [0, 1e4],
      ],
      levels: 3,
      logLevels: true,
    });
    [10, 100, 1000].forEach((level, i) => expect(levels[i]).toBeCloseTo(level, 9));
  });
});

describe('marching squares', () => {
  it('finds iso-lines exactly where a plane crosses the level', () => {
    const segments = contourSegments(plane, [0.4]);
    expect(segments).toHaveLength(4); // one per row of cells
    for (const s of segments) {
      expect(s.x).toBeCloseTo(0.4, 12);
      expect(s.x2).toBeCloseTo(0.4, 12);
    }
    expect(segments.flatMap((s) => [s.y, s.y2]).sort()).toEqual(
      [0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1].sort(),
    );
  });

  it('puts every crossing of a bowl where the interpolated value equals the level', () => {
    const grid = [-1, -0.5, 0, 0.5, 1];
    const bowl = contourSegments(
      {
        ...plane,
        x: { label: 'a', values: grid },
        y: { label: 'b', values: grid },
        z: grid.map((y) => grid.map((x) => x * x + y * y)),
      },
      [0.5],
    );
    // The 8 cells around the 4 centre cells; the level only touches those at a corner.
    expect(bowl).toHaveLength(8);
    // On the axes z runs linearly from 0.25 (at ±0.5) to 1 (at ±1): it is 0.5 at ±2/3.
    const ends = bowl.flatMap((s) => [
      [s.x, s.y],
      [s.x2, s.y2],
    ]);
    for (const [x, y] of [
      [2 / 3, 0],
      [-2 / 3, 0],
      [0, 2 / 3],
      [0, -2 / 3],
    ])
      expect(
        ends.some(([ex, ey]) => Math.abs(ex! - x!) < 1e-12 && Math.abs(ey! - y!) < 1e-12),
      ).toBe(true);
  });

  it('skips cells with a missing corner', () => {
    const holed = {
      ...plane,
      z: plane.z.map((row, i) => row.map((v, j) => (i === 0 && j === 0 ? NaN : v))),
    };
    expect(contourSegments(holed, [0.1])).toHaveLength(3);
  });
});

describe('a contour figure', () => {
  it('on a log axis drops the grid lines at non-positive coordinates', () => {
    const grid = visibleGrid({ ...plane, x: { ...plane.x, log: true } });
    expect(grid.x.values).toEqual([0.25, 0.5, 0.75, 1]);
    expect(grid.z[0]).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('with logLevels leaves cells of z <= 0 blank instead of failing', async () => {
    const figure = { ...plane, logLevels: true };
    const cells = (
      contourSpec(figure) as unknown as { layer: Array<{ data: { values: unknown[] } }> }
    ).layer[0]!.data.values;
    expect(cells).toHaveLength(20); // the column at x = 0 is blank
    const svg = await renderFigure(figure);
    expect(svg).not.toContain('NaN');
    expect(countMarks(svg, 'rect mark')).toBe(20);
  });

  it('spans its axes over the grid cells', () => {
    const spec = contourSpec(plane) as unknown as {
      layer: Array<{ encoding: { x: { scale: { domain: number[] } } } }>;
    };
    expect(spec.layer[0]!.encoding.x.scale.domain).toEqual([-0.125, 1.125]);
  });
});
