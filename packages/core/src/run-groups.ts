/**
 * Runs grouped by what distinguishes them but the seed (the reports' loss curves, and analyses
 * that draw their own figures); per group, the mean over seeds and
 * the band from the lowest to the highest seed.
 */
import type { Point, Series } from './figures.js';

/** Runs of one group: they differ only by their seed. */
export interface RunGroup<Run extends { group: string } = { group: string }> {
  name: string;
  runs: Run[];
}

/** Groups in the order their first run appears, runs in their order. */
export function groupRuns<Run extends { group: string }>(runs: readonly Run[]): RunGroup<Run>[] {
  const groups = new Map<string, Run[]>();
  for (const run of runs) {
    const members = groups.get(run.group);
    if (members) members.push(run);
    else groups.set(run.group, [run]);
  }
  return [...groups].map(([name, members]) => ({ name, runs: members }));
}

/**
 * A series for a group: at every x where some run has a finite value, the mean over the runs
 * that have one (a seed that diverged or stopped early does not drag the mean to NaN); with
 * several runs, a band from their minimum to their maximum.
 */
export function groupSeries<Run extends { group: string }>(
  group: RunGroup<Run>,
  pointsOf: (run: Run) => Point[],
): Series {
  const byX = new Map<number, number[]>();
  for (const run of group.runs) {
    for (const p of pointsOf(run)) {
      if (!Number.isFinite(p.y)) continue;
      const ys = byX.get(p.x);
      if (ys) ys.push(p.y);
      else byX.set(p.x, [p.y]);
    }
  }
  const xs = [...byX.keys()].sort((a, b) => a - b);
  const points = xs.map((x) => {
    const ys = byX.get(x)!;
    return { x, y: ys.reduce((sum, y) => sum + y, 0) / ys.length };
  });
  if (group.runs.length < 2) return { name: group.name, points };
  const band = xs.map((x) => {
    const ys = byX.get(x)!;
    return { x, lo: Math.min(...ys), hi: Math.max(...ys) };
  });
  return { name: group.name, points, band };
}

/** How many seeds each line averages, for a caption. */
export function seedsCaption(groups: ReadonlyArray<RunGroup<{ group: string }>>): string {
  const counts = new Set(groups.map((g) => g.runs.length));
  if (counts.size === 1 && counts.has(1)) return 'One run per line.';
  const band = 'the band spans the lowest to the highest seed';
  if (counts.size === 1)
    return `Each line is the mean over ${groups[0]!.runs.length} seeds; ${band}.`;
  const each = groups.map((g) => `${g.name}: ${g.runs.length}`).join(', ');
  return `Each line is the mean over its group's seeds (${each}); where there are several, ${band}.`;
}
