/**
 * Across runs: sliced 2-Wasserstein distances between the recorded particle distributions of
 * successive sizes at equal training time, and within a run from its step-0 particles.
 */
import { deriveSeed } from '@tdx/core';
import {
  randomDirections,
  slicedWassersteinFromProjections,
  sortedProjections,
  type SlicedWasserstein,
} from '../statistics/wasserstein.js';
import { KINDS, type MeanFieldData, type ParticleKind } from './config.js';
import {
  sizedGroups,
  timeAxis,
  timeOf,
  type Entry,
  type MeanFieldRuns,
  type SizedGroup,
  type TimeAxis,
} from './curves.js';

function particleCloud(
  record: Entry,
  kind: ParticleKind,
): { values: Float64Array; dimension: number } | undefined {
  const sample = (record.particles as MeanFieldData['particles'] | undefined)?.[kind];
  if (!sample || sample.points.length === 0) return undefined;
  const values = Float64Array.from(sample.points.flat());
  // A diverged run's particles (null in JSON) have no distribution to compare.
  if (
    !values.every((x) => Number.isFinite(x)) ||
    values.length !== sample.points.length * sample.dimension
  )
    return undefined;
  return { values, dimension: sample.dimension };
}

/** Options of the particle distances; by default those recorded in the files' config. */
export interface ParticleDistanceOptions {
  directions?: number;
  seed?: number;
}

/**
 * The K unit directions in R^dimension that the particle distances project on, drawn from
 * `seed` and the dimension alone: the same in every figure and table.
 */
export function particleDirections(dimension: number, count: number, seed: number): Float64Array {
  return randomDirections(dimension, count, deriveSeed(seed, 'sliced', dimension));
}

/** Sorted projections on shared directions, computed once per record and kind. */
function projector(runs: MeanFieldRuns, options: ParticleDistanceOptions) {
  const config = runs[0]?.file.config ?? {};
  const K = options.directions ?? (typeof config.directions === 'number' ? config.directions : 128);
  const seed = options.seed ?? (typeof config.seed === 'number' ? config.seed : 0);
  const directions = new Map<number, Float64Array>();
  const cache = new WeakMap<Entry, Map<ParticleKind, Float64Array[] | null>>();
  const project = (record: Entry, kind: ParticleKind): Float64Array[] | null => {
    let byKind = cache.get(record);
    if (!byKind) cache.set(record, (byKind = new Map()));
    if (byKind.has(kind)) return byKind.get(kind)!;
    const cloud = particleCloud(record, kind);
    let out: Float64Array[] | null = null;
    if (cloud) {
      let u = directions.get(cloud.dimension);
      if (!u) {
        // One set of directions per dimension, from the seed alone: the same in every figure.
        u = particleDirections(cloud.dimension, K, seed);
        directions.set(cloud.dimension, u);
      }
      out = sortedProjections(cloud, u);
    }
    byKind.set(kind, out);
    return out;
  };
  const distance = (a: Entry, b: Entry, kind: ParticleKind): SlicedWasserstein | undefined => {
    const [pa, pb] = [project(a, kind), project(b, kind)];
    if (!pa || !pb || pa[0]!.length === 0) return undefined;
    // Different dimensions (heads of other widths) are different spaces: no distance.
    const da = (a.particles as MeanFieldData['particles'])[kind]!.dimension;
    const db = (b.particles as MeanFieldData['particles'])[kind]!.dimension;
    return da === db ? slicedWassersteinFromProjections(pa, pb) : undefined;
  };
  return { distance, directions: K, seed };
}

/** Records of two runs at the same training time: equal τ (relative 1e-6), else equal step. */
function matchRecords(a: readonly Entry[], b: readonly Entry[]): Array<[Entry, Entry]> {
  const out: Array<[Entry, Entry]> = [];
  for (const ra of a) {
    const rb = b.find((r) =>
      typeof ra.tau === 'number' && typeof r.tau === 'number'
        ? Math.abs(ra.tau - r.tau) <= 1e-6 * Math.max(Math.abs(ra.tau), Math.abs(r.tau))
        : ra.step === r.step,
    );
    if (rb) out.push([ra, rb]);
  }
  return out;
}

export interface DistancePoint {
  /** τ (or the step, see axis) of the records compared. */
  time: number;
  /** Mean over the run pairs (seeds) of SW2. */
  distance: number;
  /** The lowest and highest over the run pairs. */
  lo: number;
  hi: number;
  /** Mean over the run pairs of SW2's Monte-Carlo standard error. */
  standardError: number;
  /** Run pairs behind the mean. */
  runs: number;
}

export interface ParticleDistance {
  from: string;
  to: string;
  kind: ParticleKind;
  points: DistancePoint[];
}

function summarise(byTime: Map<number, SlicedWasserstein[]>): DistancePoint[] {
  return [...byTime]
    .sort(([x], [y]) => x - y)
    .map(([time, sws]) => {
      const d = sws.map((s) => s.distance);
      return {
        time,
        distance: d.reduce((s, x) => s + x, 0) / d.length,
        lo: Math.min(...d),
        hi: Math.max(...d),
        standardError: sws.reduce((s, x) => s + x.standardError, 0) / sws.length,
        runs: sws.length,
      };
    });
}

const bySeed = (g: SizedGroup) => [...g.runs].sort((x, y) => x.run.seed - y.run.seed);

/**
 * The sliced 2-Wasserstein distance between the recorded particle distributions over (θ, t) of
 * successive sizes, per kind, at equal training time; the i-th seed of one group against the
 * i-th of the other (by seed), averaged. Directions: `directions` (K) from `seed`, by default
 * the files' config; the same for every pair and time.
 */
export function particleDistances(
  runs: MeanFieldRuns,
  options: ParticleDistanceOptions = {},
): { axis: TimeAxis; directions: number; pairs: ParticleDistance[] } {
  const axis = timeAxis(runs);
  const groups = sizedGroups(runs);
  const { distance, directions } = projector(runs, options);
  const pairs: ParticleDistance[] = [];
  for (let i = 0; i + 1 < groups.length; i++) {
    const [ga, gb] = [groups[i]!, groups[i + 1]!];
    const [ra, rb] = [bySeed(ga), bySeed(gb)];
    for (const kind of KINDS) {
      const byTime = new Map<number, SlicedWasserstein[]>();
      for (let s = 0; s < Math.min(ra.length, rb.length); s++) {
        for (const [a, b] of matchRecords(ra[s]!.file.records, rb[s]!.file.records)) {
          const sw = distance(a, b, kind);
          if (!sw) continue;
          const t = timeOf(a, axis);
          byTime.set(t, [...(byTime.get(t) ?? []), sw]);
        }
      }
      if (byTime.size > 0)
        pairs.push({ from: ga.name, to: gb.name, kind, points: summarise(byTime) });
    }
  }
  return { axis, directions, pairs };
}

export interface ParticleDrift {
  run: string;
  group: string;
  kind: ParticleKind;
  /** SW2 between the particles at each evaluation and at step 0 (τ = 0). */
  points: Array<{ time: number; step: number; distance: number; standardError: number }>;
}

/**
 * Within each run, how far the particle distribution moved: SW2 between each evaluation's
 * particles and those at step 0 (the run must be evaluated at step 0; runs without are left out).
 */
export function particleDrift(
  runs: MeanFieldRuns,
  options: ParticleDistanceOptions = {},
): { axis: TimeAxis; directions: number; runs: ParticleDrift[] } {
  const axis = timeAxis(runs);
  const { distance, directions } = projector(runs, options);
  const out: ParticleDrift[] = [];
  for (const { run, file } of runs) {
    const start = file.records.find((r) => r.step === 0);
    if (!start) continue;
    for (const kind of KINDS) {
      const points = file.records.flatMap((r) => {
        const sw = distance(start, r, kind);
        return sw
          ? [
              {
                time: timeOf(r, axis),
                step: r.step,
                distance: sw.distance,
                standardError: sw.standardError,
              },
            ]
          : [];
      });
      if (points.length > 0) out.push({ run: run.label, group: run.group, kind, points });
    }
  }
  return { axis, directions, runs: out };
}
