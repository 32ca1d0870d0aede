/** Histograms over shared bins: counts, densities, log-spaced bins. */
import { describe, expect, it } from 'vitest';
import type { HistogramFigure } from '@tdx/core';
import { histogramBins, renderFigure } from '../src/index.js';
import { attribute, countMarks, hasText, marks } from './support/svg.js';

const figure: HistogramFigure = {
  kind: 'histogram',
  id: 'noise',
  title: 'Gradient noise',
  x: { label: 'norm' },
  series: [
    { name: 'sgd', values: [0, 1, 1, 2, 3.9, 4] },
    { name: 'gaussian', values: [2] },
  ],
  bins: 4,
};

const of = (bins: ReturnType<typeof histogramBins>, series: string) =>
  bins.filter((b) => b.series === series).map((b) => [b.start, b.end, b.value]);

describe('histogram bins', () => {
  it('are shared by every series, spanning all samples, the largest in the last bin', () => {
    const bins = histogramBins(figure);
    expect(of(bins, 'sgd')).toEqual([
      [0, 1, 1],
      [1, 2, 2],
      [2, 3, 1],
      [3, 4, 2],
    ]);
    expect(of(bins, 'gaussian')).toEqual([
      [0, 1, 0],
      [1, 2, 0],
      [2, 3, 1],
      [3, 4, 0],
    ]);
  });

  it('are 40 unless the figure says otherwise', () => {
    const values = Array.from({ length: 400 }, (_, i) => i);
    const bins = histogramBins({ ...figure, bins: undefined, series: [{ name: 's', values }] });
    expect(bins).toHaveLength(40);
    expect(bins.every((b) => b.value === 10)).toBe(true);
  });

  it('as densities have area 1', () => {
    const density = histogramBins({ ...figure, density: true });
    for (const series of ['sgd', 'gaussian']) {
      const area = density
        .filter((b) => b.series === series)
        .reduce((sum, b) => sum + b.value * (b.end - b.start), 0);
      expect(area).toBeCloseTo(1, 12);
    }
    // sgd: 2 of 6 samples in a bin of width 1
    expect(density.find((b) => b.series === 'sgd' && b.start === 1)!.value).toBeCloseTo(1 / 3, 12);
  });

  it('are log-spaced on a log axis, which drops samples that are not positive', () => {
    const bins = histogramBins({
      ...figure,
      x: { label: 'norm', log: true },
      series: [{ name: 's', values: [1, 10, 100, 0, -1] }],
      bins: 2,
    });
    expect(bins.map((b) => b.value)).toEqual([1, 2]);
    expect(bins[0]!.start).toBeCloseTo(1, 12);
    expect(bins[0]!.end).toBeCloseTo(10, 12);
    expect(bins[1]!.end).toBeCloseTo(100, 12);
  });

  it('handle samples that are all equal', () => {
    const bins = histogramBins({ ...figure, series: [{ name: 's', values: [3, 3, 3] }], bins: 1 });
    expect(bins).toEqual([{ series: 's', start: 2.5, end: 3.5, value: 3 }]);
  });

  it('handle a million samples', () => {
    const values = Array.from({ length: 1_000_000 }, (_, i) => i % 7);
    const bins = histogramBins({ ...figure, series: [{ name: 's', values }], bins: 7 });
    expect(bins.reduce((sum, b) => sum + b.value, 0)).toBe(1_000_000);
  });
});

describe('a rendered histogram', () => {
  it('draws each bin as a bar from zero up to its count', async () => {
    const svg = await renderFigure({ ...figure, series: [figure.series[0]!] });
    // Bars are rectangles `M x,y h w v h h -w Z` in a plot 300 high, y growing downwards.
    const bars = marks(svg, 'bar').map((bar) => {
      const [, , top, , height] = /M([\d.]+),([\d.]+)h([\d.]+)v([\d.]+)/
        .exec(attribute(bar, 'd')!)!
        .map(Number);
      return { top: top!, height: height! };
    });
    expect(bars).toHaveLength(4);
    for (const bar of bars) expect(bar.top + bar.height).toBeCloseTo(300, 6);
    // counts 1, 2, 1, 2: the bars of 2 are twice as high as those of 1
    expect(bars.map((b) => b.height / bars[0]!.height)).toEqual([1, 2, 1, 2]);
  });

  it('says density on its axis when it shows densities', async () => {
    const svg = await renderFigure({ ...figure, density: true });
    expect(hasText(svg, 'density')).toBe(true);
    expect(countMarks(svg, 'bar')).toBe(8);
  });
});
