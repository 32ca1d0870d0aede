/**
 * Long curves thinned to what a figure can show: a few hundred pixels wide cannot draw more
 * than about a thousand points per line, and tens of thousands make rendering slow and the SVG
 * huge. Thinning keeps the extremes of every stretch, so spikes and divergences stay visible.
 */
import type { BandPoint, Point } from '@tdx/core';

/** At most this many points per line (two per stretch). */
export const MAX_POINTS = 1000;

function stretches<T>(items: readonly T[], count: number): T[][] {
  const size = Math.ceil(items.length / count);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Points sorted by x; per stretch, its lowest and its highest point, in x order. */
export function thinPoints(points: readonly Point[], max = MAX_POINTS): Point[] {
  if (points.length <= max) return [...points];
  return stretches(points, Math.floor(max / 2)).flatMap((stretch) => {
    let low = stretch[0]!;
    let high = stretch[0]!;
    for (const p of stretch) {
      if (p.y < low.y) low = p;
      if (p.y > high.y) high = p;
    }
    if (low === high) return [low];
    return low.x <= high.x ? [low, high] : [high, low];
  });
}

/** Band points sorted by x; per stretch, the envelope of the stretch at its first and last x. */
export function thinBand(band: readonly BandPoint[], max = MAX_POINTS): BandPoint[] {
  if (band.length <= max) return [...band];
  return stretches(band, Math.floor(max / 2)).flatMap((stretch) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const b of stretch) {
      lo = Math.min(lo, b.lo);
      hi = Math.max(hi, b.hi);
    }
    const first = stretch[0]!.x;
    const last = stretch.at(-1)!.x;
    return first === last
      ? [{ x: first, lo, hi }]
      : [
          { x: first, lo, hi },
          { x: last, lo, hi },
        ];
  });
}
