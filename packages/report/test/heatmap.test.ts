/** Heatmaps: labelled rows and columns, a colour legend, blank cells where there is no value. */
import { describe, expect, it } from 'vitest';
import type { HeatmapFigure } from '@tdx/core';
import { renderFigure } from '../src/index.js';
import { countMarks, hasText } from './support/svg.js';

const figure: HeatmapFigure = {
  kind: 'heatmap',
  id: 'js',
  title: 'Jensen-Shannon distance',
  rows: ['query', 'key', 'mlp'],
  columns: ['embed', 'head'],
  values: [
    [0.1, 0.3],
    [null, null],
    [0.9, 0.5],
  ],
  colorLabel: 'JS distance',
};

describe('a heatmap', () => {
  it('labels every row and column, even a row without values, and leaves null cells blank', async () => {
    const svg = await renderFigure(figure);
    for (const label of ['query', 'key', 'mlp', 'embed', 'head'])
      expect(hasText(svg, label), label).toBe(true);
    expect(countMarks(svg, 'rect mark')).toBe(4);
  });

  it('has a colour legend titled with the colour label', async () => {
    const svg = await renderFigure(figure);
    expect(countMarks(svg, 'legend')).toBe(1);
    expect(svg).toMatch(/<linearGradient/);
    expect(hasText(svg, 'JS distance')).toBe(true);
  });

  it('writes the values in the cells when it is small, and not when it is large', async () => {
    expect(hasText(await renderFigure(figure), '0.9')).toBe(true);
    const names = Array.from({ length: 20 }, (_, i) => `b${i}`);
    const large = await renderFigure({
      ...figure,
      rows: names,
      columns: names,
      values: names.map((_, i) => names.map((__, j) => i * j)),
    });
    expect(countMarks(large, 'rect mark')).toBe(400);
    expect(countMarks(large, 'text mark')).toBe(0);
  });

  it('writes each value in black or white, whichever contrasts more with the cell Vega drew', async () => {
    // Values across the whole scale, the yellow end included.
    const values = [0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1];
    const svg = await renderFigure({
      ...figure,
      rows: ['r'],
      columns: values.map((_, j) => `c${j}`),
      values: [values],
    });
    const fills = new Map(
      [
        ...svg.matchAll(
          /<path aria-label="column: (\w+); row: r;[^"]*"[^>]*rect mark[^>]*fill="rgb\((\d+), (\d+), (\d+)\)"/g,
        ),
      ].map((m) => [m[1]!, [m[2], m[3], m[4]].map((c) => Number(c) / 255)]),
    );
    const inks = new Map(
      [
        ...svg.matchAll(
          /<text aria-label="column: (\w+); row: r;[^"]*"[^>]*text mark[^>]*fill="(\w+)"/g,
        ),
      ].map((m) => [m[1]!, m[2]!]),
    );
    expect(fills.size).toBe(values.length);
    expect(inks.size).toBe(values.length);
    // WCAG 2 contrast, computed here from the colours in the SVG.
    const luminance = (rgb: number[]) =>
      rgb
        .map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
        .reduce((sum, c, k) => sum + [0.2126, 0.7152, 0.0722][k]! * c, 0);
    const contrast = (a: number, b: number) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    for (const [column, rgb] of fills) {
      const cell = luminance(rgb);
      const ink = inks.get(column);
      const other = ink === 'white' ? 0 : 1;
      expect(contrast(cell, ink === 'white' ? 1 : 0), column).toBeGreaterThanOrEqual(
        contrast(cell, other) * 0.95,
      );
    }
    // The light end is written in black, the dark end in white.
    expect(inks.get(`c${values.length - 1}`)).toBe('black');
    expect(inks.get('c0')).toBe('white');
  });
});
