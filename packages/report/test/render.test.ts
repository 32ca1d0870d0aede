/** Every figure kind through renderFigure: an SVG with its title, axis titles and marks. */
import { describe, expect, it } from 'vitest';
import type { FigureSpec, LinesFigure } from '@tdx/core';
import { renderFigure, renderVegaLite, type VegaLiteSpec } from '../src/index.js';
import { countMarks, hasText } from './support/svg.js';

const grid = [0, 0.5, 1, 1.5];

/** One figure per kind, with the texts it must show and the marks it must draw. */
const cases: Array<{ figure: FigureSpec; texts: string[]; marks: Record<string, number> }> = [
  {
    figure: {
      kind: 'lines',
      id: 'loss',
      title: 'Training loss',
      x: { label: 'step' },
      y: { label: 'loss', log: true },
      series: [
        { name: 'sgd', points: [0, 10, 20].map((x) => ({ x, y: 5 - x / 10 })) },
        {
          name: 'adam',
          points: [0, 10, 20].map((x) => ({ x, y: 4 - x / 10 })),
          band: [0, 10, 20].map((x) => ({ x, lo: 3 - x / 10, hi: 5 - x / 10 })),
        },
        { name: 'lion', points: [0, 10, 20].map((x) => ({ x, y: 3 })) },
      ],
    },
    texts: ['Training loss', 'step', 'loss', 'sgd', 'adam', 'lion'],
    marks: { 'line mark': 3, 'area mark': 1 },
  },
  {
    figure: {
      kind: 'density',
      id: 'spectrum',
      title: 'Hessian spectrum',
      x: { label: 'eigenvalue' },
      y: { label: 'density' },
      series: [
        { name: 'query', points: [-1, 0, 1].map((x) => ({ x, y: Math.exp(-x * x) })) },
        { name: 'key', points: [-1, 0, 1].map((x) => ({ x, y: Math.exp(-2 * x * x) })) },
      ],
    },
    texts: ['Hessian spectrum', 'eigenvalue', 'density', 'query', 'key'],
    marks: { 'line mark': 2, 'area mark': 0 },
  },
  {
    figure: {
      kind: 'heatmap',
      id: 'js',
      title: 'Jensen-Shannon distance',
      rows: ['query', 'key', 'mlp'],
      columns: ['query', 'key', 'mlp'],
      values: [
        [0, 0.3, 0.9],
        [0.3, 0, null],
        [0.9, 0.5, 0],
      ],
      colorLabel: 'JS distance',
    },
    texts: ['Jensen-Shannon distance', 'query', 'key', 'mlp', 'JS distance'],
    marks: { 'rect mark': 8, 'text mark': 8 }, // the null cell is left blank
  },
  {
    figure: {
      kind: 'histogram',
      id: 'noise',
      title: 'Gradient noise',
      x: { label: 'norm' },
      series: [
        { name: 'sgd', values: [0, 1, 1, 2, 3.9, 4] },
        { name: 'gaussian', values: [2, 2.5] },
      ],
      bins: 4,
    },
    texts: ['Gradient noise', 'norm', 'count', 'sgd', 'gaussian'],
    marks: { bar: 8 }, // 4 shared bins for each of the 2 series
  },
  {
    figure: {
      kind: 'contour',
      id: 'landscape',
      title: 'Loss landscape',
      x: { label: 'direction 1', values: grid },
      y: { label: 'direction 2', values: grid },
      z: grid.map((y) => grid.map((x) => x + y)),
      zLabel: 'loss',
      levels: 3,
    },
    // z = x + y from 0 to 3: levels 0.75, 1.5 and 2.25 each cross 3 of the 9 cells
    texts: ['Loss landscape', 'direction 1', 'direction 2', 'loss'],
    marks: { 'rect mark': 16, 'rule mark': 9 },
  },
];

describe('renderFigure', () => {
  for (const { figure, texts, marks } of cases) {
    it(`draws a ${figure.kind} figure with its title, axis titles and marks`, async () => {
      const svg = await renderFigure(figure);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      for (const text of texts) expect(hasText(svg, text), text).toBe(true);
      for (const [role, count] of Object.entries(marks))
        expect(countMarks(svg, role), role).toBe(count);
    });

    it(`draws a ${figure.kind} figure the same way every time`, async () => {
      const first = await renderFigure(figure);
      await renderFigure({ ...figure, id: 'something-else' }); // advances Vega's id counters
      expect(await renderFigure(figure)).toBe(first);
    });
  }

  it('shows a legend only when there is more than one series', async () => {
    const lines = cases[0]!.figure as LinesFigure;
    const legends = async (figure: LinesFigure) => countMarks(await renderFigure(figure), 'legend');
    expect(await legends(lines)).toBe(1);
    expect(await legends({ ...lines, series: lines.series.slice(0, 1) })).toBe(0);
  });

  it('gives the ids in a figure a prefix of its own, so figures can share a page', async () => {
    const svg = await renderFigure(cases[2]!.figure); // a heatmap: a gradient legend and clips
    const ids = [...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).toMatch(/^tdx-js-\d+$/);
    for (const [, ref] of svg.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(ref);
  });

  it('escapes text from the figure spec inside the SVG', async () => {
    const svg = await renderFigure({
      kind: 'lines',
      id: 'x',
      title: '</svg><script>alert(1)</script>',
      x: { label: 'a & b' },
      y: { label: 'y' },
      series: [{ name: '<b>', points: [{ x: 0, y: 1 }] }],
    });
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('&lt;/svg&gt;&lt;script&gt;');
    expect(hasText(svg, 'a &amp; b')).toBe(true);
  });

  it('draws empty figures rather than failing', async () => {
    const empty: FigureSpec[] = [
      { kind: 'lines', id: 'a', title: 'A', x: { label: 'x' }, y: { label: 'y' }, series: [] },
      { kind: 'histogram', id: 'b', title: 'B', x: { label: 'x' }, series: [] },
      { kind: 'heatmap', id: 'c', title: 'C', rows: [], columns: [], values: [], colorLabel: 'c' },
      {
        kind: 'contour',
        id: 'd',
        title: 'D',
        x: { label: 'x', values: [] },
        y: { label: 'y', values: [] },
        z: [],
        zLabel: 'z',
      },
    ];
    for (const figure of empty) {
      const svg = await renderFigure(figure);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(hasText(svg, figure.title)).toBe(true);
    }
  });

  it('never loads anything: a spec that points at a URL fails', async () => {
    const spec = {
      data: { url: 'https://example.com/data.json' },
      mark: 'point',
      encoding: { x: { field: 'a', type: 'quantitative' } },
    } as VegaLiteSpec;
    await expect(renderVegaLite(spec)).rejects.toThrow(/render offline/);
  });

  it('renders a figure well under a second', async () => {
    const figure = cases[0]!.figure;
    await renderFigure(figure); // the first render pays for loading modules
    const start = performance.now();
    await renderFigure(figure);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
