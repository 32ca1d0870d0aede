/** Lines and densities: log axes, bands under their line, colours, thinning of long curves. */
import { describe, expect, it } from 'vitest';
import type { DensityFigure, LinesFigure } from '@tdx/core';
import { linesSpec, renderFigure, thinBand, thinPoints } from '../src/index.js';
import { attribute, marks, vertices } from './support/svg.js';

/** Vega-Lite's first two category colours (tableau10). */
const BLUE = '#4c78a8';
const ORANGE = '#f58518';

type Layer = { data: { values: Array<Record<string, number | string>> }; mark: { type: string } };
const layers = (figure: LinesFigure) => (linesSpec(figure) as unknown as { layer: Layer[] }).layer;
const layer = (figure: LinesFigure, type: string) =>
  layers(figure).find((l) => l.mark.type === type);

const figure: LinesFigure = {
  kind: 'lines',
  id: 'loss',
  title: 'Training loss',
  x: { label: 'step' },
  y: { label: 'loss', log: true },
  series: [
    {
      name: 'sgd',
      points: [
        { x: 0, y: 5 },
        { x: 10, y: 1 },
        { x: 20, y: 0 },
        { x: 30, y: -1 },
      ],
    },
    {
      name: 'adam',
      points: [
        { x: 0, y: 5 },
        { x: 10, y: 0.5 },
        { x: 20, y: 0.1 },
      ],
      band: [
        { x: 0, lo: 4, hi: 6 },
        { x: 10, lo: 0, hi: 0.7 },
        { x: 20, lo: 0.05, hi: 0.2 },
      ],
    },
  ],
};

describe('lines on a log axis', () => {
  it('drop the points and band points that are not positive', () => {
    const points = layer(figure, 'line')!.data.values;
    expect(points.filter((p) => p.series === 'sgd').map((p) => p.y)).toEqual([5, 1]);
    expect(points.filter((p) => p.series === 'adam').map((p) => p.y)).toEqual([5, 0.5, 0.1]);
    expect(layer(figure, 'area')!.data.values.map((b) => b.x)).toEqual([0, 20]);
  });

  it('draw what is left, without failing', async () => {
    const svg = await renderFigure(figure);
    const [sgd, adam] = marks(svg, 'line mark');
    expect(vertices(attribute(sgd!, 'd')!)).toBe(2);
    expect(vertices(attribute(adam!, 'd')!)).toBe(3);
  });

  it('keep every point on a linear axis', () => {
    const linear = { ...figure, y: { label: 'loss' } };
    expect(layer(linear, 'line')!.data.values).toHaveLength(7);
  });
});

describe('series', () => {
  it('take colours in the order of the spec, the band the colour of its line, translucent', async () => {
    const svg = await renderFigure(figure);
    const [sgd, adam] = marks(svg, 'line mark');
    expect(attribute(sgd!, 'stroke')).toBe(BLUE);
    expect(attribute(adam!, 'stroke')).toBe(ORANGE);
    const [band] = marks(svg, 'area mark');
    expect(attribute(band!, 'fill')).toBe(ORANGE);
    expect(Number(attribute(band!, 'opacity'))).toBeLessThan(0.5);
    // Reversing the series swaps the colours: they follow the spec, not the names.
    const reversed = await renderFigure({ ...figure, series: [...figure.series].reverse() });
    expect(marks(reversed, 'line mark').map((m) => attribute(m, 'stroke'))).toEqual([BLUE, ORANGE]);
  });

  it('draw their band before (under) their line', async () => {
    const svg = await renderFigure(figure);
    expect(svg.indexOf('area mark')).toBeLessThan(svg.indexOf('line mark'));
  });

  it('of the same name are kept apart', () => {
    const twice = { ...figure, series: [figure.series[1]!, figure.series[1]!] };
    const names = new Set(layer(twice, 'line')!.data.values.map((p) => p.series));
    expect([...names]).toEqual(['adam', 'adam (2)']);
  });

  it('of a single point are drawn as a dot', async () => {
    const dot = { ...figure, series: [{ name: 'once', points: [{ x: 5, y: 2 }] }] };
    expect((await renderFigure(dot)).split('aria-roledescription="point"').length - 1).toBe(1);
  });

  it('of a few points (an analysis run every 100 steps) get a marker at each point', async () => {
    const steps = [0, 100, 200, 300, 400, 500];
    const sparse: LinesFigure = {
      ...figure,
      y: { label: 'eigenvalue', log: true },
      series: [
        { name: 'sgd', points: steps.map((x, i) => ({ x, y: 20 - i })) },
        { name: 'adam', points: steps.map((x, i) => ({ x, y: 19 / (i + 1) })) },
      ],
    };
    const svg = await renderFigure(sparse);
    expect(svg.split('aria-roledescription="point"').length - 1).toBe(12);
    // Each marker sits where its line has a vertex: the same data, at every point.
    expect(svg.split('aria-roledescription="line mark"').length - 1).toBe(2);
  });

  it('of many points (a loss logged every 10 steps) are plain lines', async () => {
    const dense: LinesFigure = {
      ...figure,
      series: [
        { name: 'sgd', points: Array.from({ length: 51 }, (_, i) => ({ x: 10 * i, y: 1 + i })) },
      ],
    };
    expect((await renderFigure(dense)).split('aria-roledescription="point"').length - 1).toBe(0);
  });
});

describe('densities', () => {
  it('are drawn on a log scale unless they say otherwise', () => {
    const density: DensityFigure = { ...figure, kind: 'density', y: { label: 'density' } };
    const scaleType = (f: DensityFigure) =>
      (
        linesSpec(f) as unknown as {
          layer: Array<{ encoding: { y: { scale: { type: string } } } }>;
        }
      ).layer[0]!.encoding.y.scale.type;
    expect(scaleType(density)).toBe('log');
    expect(scaleType({ ...density, y: { label: 'density', log: false } })).toBe('linear');
  });
});

describe('thinning long curves', () => {
  it('keeps short curves as they are', () => {
    const points = [0, 1, 2].map((x) => ({ x, y: x }));
    expect(thinPoints(points, 10)).toEqual(points);
  });

  it('keeps the lowest and highest point of every stretch, spikes included', () => {
    const points = Array.from({ length: 100 }, (_, x) => ({ x, y: x === 37 ? 1000 : 1 }));
    const thin = thinPoints(points, 20); // 10 stretches of 10 points
    expect(thin.length).toBeLessThanOrEqual(20);
    expect(thin).toContainEqual({ x: 37, y: 1000 });
    expect(thin.map((p) => p.x)).toEqual([...thin.map((p) => p.x)].sort((a, b) => a - b));
  });

  it('keeps the envelope of a band', () => {
    const band = Array.from({ length: 100 }, (_, x) => ({ x, lo: -x, hi: x }));
    const thin = thinBand(band, 20);
    expect(thin.length).toBeLessThanOrEqual(20);
    expect(thin[0]).toEqual({ x: 0, lo: -9, hi: 9 });
    expect(thin.at(-1)).toEqual({ x: 99, lo: -99, hi: 99 });
  });

  it('keeps a long figure quick to draw', async () => {
    const long = Array.from({ length: 20_000 }, (_, x) => ({ x, y: 1 + Math.sin(x) ** 2 }));
    const big = { ...figure, series: [0, 1, 2, 3].map((i) => ({ name: `s${i}`, points: long })) };
    await renderFigure(figure);
    const start = performance.now();
    const svg = await renderFigure(big);
    expect(performance.now() - start).toBeLessThan(1000);
    for (const line of marks(svg, 'line mark'))
      expect(vertices(attribute(line, 'd')!)).toBeLessThanOrEqual(1000);
  });
});
