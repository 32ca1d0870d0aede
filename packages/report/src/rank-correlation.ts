/**
 * Spearman's rank correlation with its significance and a bootstrap interval, in float64 on
 * the host: what a comparison across a handful of architectures needs.
 */

/** Ranks 1..n, ties given the mean of the ranks they span. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Pearson's correlation; undefined when either side is constant or n < 2. */
export function pearson(x: readonly number[], y: readonly number[]): number | undefined {
  const n = x.length;
  if (n < 2 || y.length !== n) return undefined;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let [sxy, sxx, syy] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const [dx, dy] = [x[i]! - mx, y[i]! - my];
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return undefined;
  return sxy / Math.sqrt(sxx * syy);
}

/** Spearman's ρ: Pearson's correlation of the ranks (ties averaged). */
export function spearman(x: readonly number[], y: readonly number[]): number | undefined {
  return pearson(ranks(x), ranks(y));
}

/** A small seeded generator (mulberry32) for resampling: the same seed, the same draws. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
  );
}

/**
 * Two-sided p-value of ρ under independence: the share of orderings of y whose |ρ| is at
 * least the observed one. Exact (every ordering) for n ≤ 8, else `samples` random orderings.
 */
export function spearmanPValue(
  x: readonly number[],
  y: readonly number[],
  samples = 20000,
  seed = 0,
): number | undefined {
  const observed = spearman(x, y);
  if (observed === undefined) return undefined;
  const n = x.length;
  const tolerance = 1e-12;
  const extreme = (order: readonly number[]) =>
    Math.abs(
      spearman(
        x,
        order.map((i) => y[i]!),
      ) ?? 0,
    ) >=
    Math.abs(observed) - tolerance;
  if (n <= 8) {
    const all = permutations(n);
    return all.filter(extreme).length / all.length;
  }
  const uniform = seededUniform(seed);
  let count = 0;
  for (let s = 0; s < samples; s++) {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(uniform() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    if (extreme(order)) count++;
  }
  return (count + 1) / (samples + 1);
}

/** The q-quantile of sorted values, linear between order statistics (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface BootstrapInterval {
  /** The level, e.g. 0.95. */
  level: number;
  lo: number;
  hi: number;
  /** Resamples drawn, and how many gave no value (a constant side) and were left out. */
  resamples: number;
  undefinedResamples: number;
}

/**
 * A percentile bootstrap interval of `statistic` over groups of observations: each resample
 * draws the groups with replacement and, within each drawn group, its observations with
 * replacement (a two-level bootstrap: architectures, then seeds). Resamples whose statistic is
 * undefined are left out and counted.
 */
export function hierarchicalBootstrap<T>(
  groups: ReadonlyArray<readonly T[]>,
  statistic: (resampled: T[][]) => number | undefined,
  options: { resamples?: number; level?: number; seed?: number } = {},
): BootstrapInterval | undefined {
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const uniform = seededUniform(options.seed ?? 0);
  const pick = <U>(items: readonly U[]): U => items[Math.floor(uniform() * items.length)]!;
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const drawn = groups.map(() => {
      const group = pick(groups);
      return group.map(() => pick(group));
    });
    const value = statistic(drawn);
    if (value !== undefined && Number.isFinite(value)) values.push(value);
  }
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  return {
    level,
    lo: quantile(values, (1 - level) / 2),
    hi: quantile(values, 1 - (1 - level) / 2),
    resamples,
    undefinedResamples: resamples - values.length,
  };
}
