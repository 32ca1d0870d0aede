/** Densities as they are stored in analysis files: the grid as start/step/points, values rounded. */
import type { Point } from '@tdx/core';

export interface StoredDensity {
  grid: { start: number; step: number; points: number };
  /** Density values, six significant digits. */
  density: number[];
  sigma: number;
}

export function storeDensity(
  grid: Float64Array,
  density: Float64Array,
  sigma: number,
): StoredDensity {
  const step = grid.length > 1 ? grid[1]! - grid[0]! : 0;
  return {
    grid: { start: grid[0] ?? 0, step, points: grid.length },
    density: Array.from(density, (x) => Number(x.toPrecision(6))),
    sigma,
  };
}

/** Points of a stored density, thinned to at most `max` points for a figure. */
export function densityPoints(stored: StoredDensity, max = 600): Point[] {
  const stride = Math.max(1, Math.ceil(stored.grid.points / max));
  const points: Point[] = [];
  for (let i = 0; i < stored.grid.points; i += stride) {
    points.push({ x: stored.grid.start + i * stored.grid.step, y: stored.density[i]! });
  }
  return points;
}
