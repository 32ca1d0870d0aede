/** Scatters: points on log axes, coloured by a number (viridis), series told apart by shape. */
import { describe, expect, it } from 'vitest';
import type { ScatterFigure } from '@tdx/core';
import { figureToVegaLite, renderFigure } from '../src/index.js';
import { attribute, countMarks, hasText, marks } from './support/svg.js';

/** The ends of Vega's viridis scheme, as the SVG writes them. */
const VIRIDIS_LOW = 'rgb(68, 1, 84)';
const VIRIDIS_HIGH = 'rgb(253, 231, 37)';

const figure: ScatterFigure = {
  kind: 'scatter',
  id: 'smoothness',
  title: 'Directional smoothness against gradient norm',
  x: { label: 'gradient norm', log: true },
  y: { label: 'directional smoothness', log: true },
  colorLabel: 'step',
  series: [
    {
      name: 'adam',
      points: [
        { x: 1, y: 2, color: 0 },
        { x: 3, y: 5, color: 50 },
        { x: 10, y: 20, color: 100 },
        // A log axis cannot show these: dropped.
        { x: -1, y: 3, color: 10 },
        { x: 2, y: 0, color: 20 },
      ],
    },
  ],
};

/** The points drawn, by their aria label (`gradient norm: 1; ...`). */
const labels = (svg: string) => marks(svg, 'point').map((m) => attribute(m, 'aria-label')!);

describe('a scatter', () => {
  it('draws every point a log axis can show, and drops the others', async () => {
    const svg = await renderFigure(figure);
    expect(countMarks(svg, 'point')).toBe(3);
    expect(labels(svg).map((l) => l.split(';')[0])).toEqual([
      'gradient norm: 1',
      'gradient norm: 3',
      'gradient norm: 10',
    ]);
    for (const text of [figure.title, 'gradient norm', 'directional smoothness', 'step'])
      expect(hasText(svg, text), text).toBe(true);
    // On linear axes the non-positive points are kept.
    const linear = await renderFigure({
      ...figure,
      x: { label: 'gradient norm' },
      y: { label: 'directional smoothness' },
    });
    expect(countMarks(linear, 'point')).toBe(5);
  });

  it('colours points by their number on a continuous scale, with a gradient legend', async () => {
    const svg = await renderFigure(figure);
    const fills = marks(svg, 'point').map((m) => attribute(m, 'fill'));
    expect(fills[0]).toBe(VIRIDIS_LOW);
    expect(fills[2]).toBe(VIRIDIS_HIGH);
    expect(new Set(fills).size).toBe(3);
    expect(svg).toMatch(/<linearGradient/);
  });

  it('places points on a log axis by the logarithm of their values', async () => {
    // 1, 3, 10 on a log x axis: 3 sits at log10(3) ≈ 0.477 of the way from 1 to 10.
    const svg = await renderFigure(figure);
    const xs = marks(svg, 'point').map((m) =>
      Number(/translate\(([-\d.e]+),/.exec(attribute(m, 'transform')!)![1]),
    );
    expect((xs[1]! - xs[0]!) / (xs[2]! - xs[0]!)).toBeCloseTo(Math.log10(3), 3);
  });

  it('tells several series apart by shape, points without a colour drawn grey', async () => {
    const two: ScatterFigure = {
      ...figure,
      series: [
        figure.series[0]!,
        {
          name: 'sgd',
          points: [
            { x: 2, y: 3 },
            { x: 4, y: 6 },
          ],
        },
      ],
    };
    const svg = await renderFigure(two);
    const drawn = marks(svg, 'point');
    expect(drawn).toHaveLength(5);
    const sgd = drawn.filter((m) => attribute(m, 'aria-label')!.includes('series: sgd'));
    const adam = drawn.filter((m) => attribute(m, 'aria-label')!.includes('series: adam'));
    expect(sgd).toHaveLength(2);
    expect(sgd.map((m) => attribute(m, 'fill'))).toEqual(['#9a9a9a', '#9a9a9a']);
    // Different marker shapes: different path data.
    expect(attribute(sgd[0]!, 'd')).not.toBe(attribute(adam[0]!, 'd'));
    expect(hasText(svg, 'adam')).toBe(true);
    expect(hasText(svg, 'sgd')).toBe(true);
  });

  it('colours by series when no point has a colour', async () => {
    const plain: ScatterFigure = {
      ...figure,
      colorLabel: undefined,
      series: [
        { name: 'a', points: [{ x: 1, y: 1 }] },
        { name: 'b', points: [{ x: 2, y: 2 }] },
      ],
    };
    const spec = figureToVegaLite(plain) as unknown as { encoding: { color: { field: string } } };
    expect(spec.encoding.color.field).toBe('series');
    const svg = await renderFigure(plain);
    const fills = marks(svg, 'point').map((m) => attribute(m, 'fill'));
    expect(fills).toEqual(['#4c78a8', '#f58518']);
  });

  it('renders an empty scatter without failing', async () => {
    const svg = await renderFigure({ ...figure, series: [] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(countMarks(svg, 'point')).toBe(0);
  });
});
