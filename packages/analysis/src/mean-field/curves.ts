/**
 * Across runs: the run groups ordered by size, their time axis (τ, else the step), and how far
 * apart the training curves of successive sizes are.
 */
import { groupRuns, groupSeries, type AnalysisFile, type Point, type RunIdentity } from '@tdx/core';

export type MeanFieldRuns = Array<{ run: RunIdentity; file: AnalysisFile }>;
export type Entry = AnalysisFile['records'][number];

/** The time axis: τ when every record has it, else the step. */
export type TimeAxis = 'tau' | 'step';

export function timeAxis(runs: MeanFieldRuns): TimeAxis {
  return runs.every((r) => r.file.records.every((rec) => typeof rec.tau === 'number'))
    ? 'tau'
    : 'step';
}

export const timeOf = (record: Entry, axis: TimeAxis): number =>
  axis === 'tau' ? (record.tau as number) : record.step;

/** A run group's size, from its first record. */
export interface SizedGroup {
  name: string;
  layers: number;
  heads: number;
  neurons: number;
  /** L·(heads + neurons): the number of particles. */
  size: number;
  runs: MeanFieldRuns;
}

// Short, so legends are not cut: `L2·M16` (heads = neurons) or `L2·M16/64`.
export const sizeLabel = (g: SizedGroup) =>
  `L${g.layers}·M${g.heads}${g.neurons === g.heads ? '' : `/${g.neurons}`}`;

/**
 * The run groups ordered by size: particle count L·(heads + neurons), then L, heads, neurons.
 * Groups whose records carry no size come last, in their order.
 */
export function sizedGroups(runs: MeanFieldRuns): SizedGroup[] {
  const groups = groupRuns(runs.map((r) => ({ group: r.run.group, ...r })));
  return groups
    .map((g) => {
      const first = g.runs.flatMap((r) => r.file.records)[0];
      const n = (key: string) => (typeof first?.[key] === 'number' ? (first[key] as number) : NaN);
      const [layers, heads, neurons] = [n('layers'), n('heads'), n('neurons')];
      return {
        name: g.name,
        layers,
        heads,
        neurons,
        size: layers * (heads + neurons),
        runs: g.runs.map(({ run, file }) => ({ run, file })),
      };
    })
    .sort((a, b) => {
      const key = (g: SizedGroup) => [g.size, g.layers, g.heads, g.neurons];
      const [ka, kb] = [key(a), key(b)];
      for (let i = 0; i < ka.length; i++) {
        const [x, y] = [ka[i]!, kb[i]!];
        if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
        if (x !== y && !Number.isNaN(x)) return x - y;
      }
      return 0;
    });
}

/** A group's curve of `field` against time: the mean over its seeds at each time. */
function groupCurve(group: SizedGroup, field: string, axis: TimeAxis): Point[] {
  return groupSeries(
    { name: group.name, runs: group.runs.map((r) => ({ group: group.name, ...r })) },
    (r) =>
      r.file.records.flatMap((rec) =>
        typeof rec[field] === 'number' ? [{ x: timeOf(rec, axis), y: rec[field] as number }] : [],
      ),
  ).points;
}

/** Linear interpolation of a curve (ascending x) at x inside its range. */
export function interpolate(curve: readonly Point[], x: number): number {
  let lo = 0;
  let hi = curve.length - 1;
  if (x <= curve[lo]!.x) return curve[lo]!.y;
  if (x >= curve[hi]!.x) return curve[hi]!.y;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (curve[mid]!.x <= x) lo = mid;
    else hi = mid;
  }
  const [a, b] = [curve[lo]!, curve[hi]!];
  return a.y + ((x - a.x) / (b.x - a.x)) * (b.y - a.y);
}

export interface CurveGap {
  from: string;
  to: string;
  fromSize: number;
  toSize: number;
  /** The common time points: the union of both curves' times inside both ranges. */
  points: number;
  range: [number, number] | null;
  /** max and mean over those points of |curve_from(t) − curve_to(t)| (linear in t); null without. */
  max: number | null;
  mean: number | null;
}

/**
 * For each pair of successive sizes (see sizedGroups), how far apart their curves of `measure`
 * (`loss`: R, `objective`: Q; means over seeds) are on their common time range: both curves
 * interpolated linearly at the union of their times there. The mean-field limit predicts gaps
 * that shrink as the sizes grow.
 */
export function curveGaps(
  runs: MeanFieldRuns,
  measure: 'loss' | 'objective' = 'loss',
): { axis: TimeAxis; pairs: CurveGap[] } {
  const axis = timeAxis(runs);
  const groups = sizedGroups(runs);
  const curves = groups.map((g) => groupCurve(g, measure, axis));
  const pairs: CurveGap[] = [];
  for (let i = 0; i + 1 < groups.length; i++) {
    const [a, b] = [curves[i]!, curves[i + 1]!];
    const base = {
      from: groups[i]!.name,
      to: groups[i + 1]!.name,
      fromSize: groups[i]!.size,
      toSize: groups[i + 1]!.size,
    };
    const lo = a.length && b.length ? Math.max(a[0]!.x, b[0]!.x) : Infinity;
    const hi = a.length && b.length ? Math.min(a[a.length - 1]!.x, b[b.length - 1]!.x) : -Infinity;
    const xs = [...new Set([...a, ...b].map((p) => p.x).filter((x) => x >= lo && x <= hi))];
    if (xs.length === 0) {
      pairs.push({ ...base, points: 0, range: null, max: null, mean: null });
      continue;
    }
    const gaps = xs.map((x) => Math.abs(interpolate(a, x) - interpolate(b, x)));
    pairs.push({
      ...base,
      points: xs.length,
      range: [lo, hi],
      max: Math.max(...gaps),
      mean: gaps.reduce((s, g) => s + g, 0) / gaps.length,
    });
  }
  return { axis, pairs };
}
