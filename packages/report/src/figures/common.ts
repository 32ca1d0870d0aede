/** Pieces shared by the figure builders. */
import type { Axis } from '@tdx/core';

export const WIDTH = 560;
export const HEIGHT = 300;

/** Vega-Lite scale of an axis; log scales take only positive values (callers filter). */
export function scaleOf(axis: Axis): { type: 'log' | 'linear'; zero?: boolean } {
  return axis.log ? { type: 'log' } : { type: 'linear', zero: false };
}

/** Keeps a value for an axis: finite, and positive when the axis is logarithmic. */
export function fits(value: number | null | undefined, log: boolean | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value) && (!log || value > 0);
}

/** Smallest and largest value, by a loop: spreading a million samples into Math.min overflows the stack. */
export function extent(values: Iterable<number>): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/**
 * Series names made unique (`sgd`, `sgd (2)`): series are told apart by name in the colour
 * scale, so two series of one name would be joined into one line.
 */
export function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    let unique = name;
    for (let i = 2; seen.has(unique); i++) unique = `${name} (${i})`;
    seen.add(unique);
    return unique;
  });
}

/** The colour channel of series: a fixed order (the spec's), a legend only when it helps. */
export function seriesColor(names: readonly string[]) {
  return {
    field: 'series',
    type: 'nominal' as const,
    title: null,
    // Twenty colours before any repeats when there are many groups.
    scale: { domain: [...names], scheme: names.length > 10 ? 'tableau20' : 'tableau10' },
    // Legend symbols at full opacity: they would otherwise take the faint bands' opacity.
    // Run labels are long (optimizer, sweep values, tuned values): show them whole.
    legend: names.length > 1 ? { symbolOpacity: 1, labelLimit: 400 } : null,
  };
}
