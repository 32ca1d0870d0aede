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
});
