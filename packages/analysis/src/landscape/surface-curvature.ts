/**
 * A smoothness number for a plotted landscape: the curvature of the surface itself, by central
 * finite differences on its grid. At every interior point of a 2-D grid f(a, b) the 2 × 2
 * Hessian of the surface,
 *
 *   f_aa = (f(a+h, b) − 2f(a, b) + f(a−h, b)) / h²,   f_bb likewise along b,
 *   f_ab = (f(a+h, b+k) − f(a+h, b−k) − f(a−h, b+k) + f(a−h, b−k)) / (4hk),
 *
 * (exact for a quadratic surface) has eigenvalues λ₁ ≥ λ₂, and
 *
 *   nonConvexity = max(0, −λ₂) / max(|λ₁|, |λ₂|)   ∈ [0, 1]:
 *
 * 0 where the surface is locally convex, |λ₂/λ₁| at a saddle whose downward curvature is the
 * weaker (Li et al. 2018's non-convexity ratio |λ_min/λ_max|, here of the plotted surface rather
 * than of the full Hessian), 1 where the strongest curvature points down. Summaries over the
 * interior points where all nine neighbouring losses are finite: the mean and maximum of that
 * ratio, the fraction of points that are locally convex (λ₂ ≥ 0), the extreme curvatures, and
 * the largest |second difference| along an axis. A 1-D slice has only f'' at each point.
 *
 * Curvatures are per squared coordinate unit; in float32 a flat surface's second differences
 * are rounding, at least about 2⁻²³·|f|/h² each (a loss summed over a batch rounds more), which
 * `noiseFloor` records: curvatures below it are not resolved, and points where every |λ| is
 * below it count as convex (ratio 0). Choose the range so that the curvatures found are well
 * above it.
 */
import { TdxError } from '@tdx/core';

export interface SurfaceCurvature {
  /** Interior points with finite neighbours. */
  points: number;
  /** Mean and maximum of max(0, −λ₂)/max|λ| (2-D) over those points. */
  nonConvexity?: { mean: number; max: number };
  /** Fraction of the points where the smallest curvature is ≥ 0 (or below the noise floor). */
  convexFraction: number;
  /** The smallest λ₂ (f'') and the largest λ₁ over the points. */
  minCurvature: number;
  maxCurvature: number;
  /** max |f_aa|, |f_bb| (or |f''|): the largest second difference along an axis, per h². */
  maxSecondDifference: number;
  /** 2⁻²³ · max|f| · 4/h_min²: a lower bound on float32 rounding in a second difference. */
  noiseFloor: number;
}

const FLOAT32_EPSILON = 2 ** -23;

/** The common spacing of evenly spaced coordinates, or an error. */
function spacing(values: readonly number[], axis: string): number {
  if (values.length < 3)
    throw new TdxError(
      'INVALID_ARGUMENT',
      `surface curvature needs at least 3 points along ${axis}, got ${values.length}`,
    );
  const h = (values[values.length - 1]! - values[0]!) / (values.length - 1);
  for (let i = 1; i < values.length; i++)
    if (Math.abs(values[i]! - values[i - 1]! - h) > 1e-9 * Math.abs(h) + 1e-12)
      throw new TdxError(
        'INVALID_ARGUMENT',
        `surface curvature needs evenly spaced coordinates along ${axis}`,
      );
  return h;
}

const isFinite = (x: number | null | undefined): x is number =>
  typeof x === 'number' && Number.isFinite(x);

function maxAbs(rows: ReadonlyArray<ReadonlyArray<number | null>>): number {
  let m = 0;
  for (const row of rows) for (const x of row) if (isFinite(x)) m = Math.max(m, Math.abs(x));
  return m;
}

/** The curvature of a 1-D slice: f'' at each interior point. */
export function sliceCurvature(
  losses: ReadonlyArray<number | null>,
  xs: readonly number[],
): SurfaceCurvature {
  if (losses.length !== xs.length)
    throw new TdxError(
      'SHAPE_MISMATCH',
      `${losses.length} losses for ${xs.length} coordinates along the slice`,
    );
  const h = spacing(xs, 'the slice');
  const noiseFloor = (FLOAT32_EPSILON * maxAbs([losses]) * 4) / (h * h);
  let points = 0;
  let convex = 0;
  let minCurvature = Infinity;
  let maxCurvature = -Infinity;
  for (let i = 1; i < xs.length - 1; i++) {
    const [l, c, r] = [losses[i - 1], losses[i], losses[i + 1]];
    if (!isFinite(l) || !isFinite(c) || !isFinite(r)) continue;
    const f2 = (l - 2 * c + r) / (h * h);
    points++;
    if (f2 >= -noiseFloor) convex++;
    minCurvature = Math.min(minCurvature, f2);
    maxCurvature = Math.max(maxCurvature, f2);
  }
  return summary(points, convex, minCurvature, maxCurvature, undefined, noiseFloor);
}

/**
 * The curvature of a 2-D grid, losses[i][j] at (xs[j], ys[i]) (the loss-landscape layout):
 * the surface Hessian's eigenvalues at every interior point, summarised.
 */
export function surfaceCurvature(
  losses: ReadonlyArray<ReadonlyArray<number | null>>,
  xs: readonly number[],
  ys: readonly number[],
): SurfaceCurvature {
  if (losses.length !== ys.length || losses.some((row) => row.length !== xs.length))
    throw new TdxError(
      'SHAPE_MISMATCH',
      `the grid must have ${ys.length} rows of ${xs.length} losses (losses[i][j] at (xs[j], ys[i]))`,
    );
  const h = spacing(xs, 'the first axis');
  const k = spacing(ys, 'the second axis');
  const noiseFloor = (FLOAT32_EPSILON * maxAbs(losses) * 4) / Math.min(h * h, k * k);
  const at = (i: number, j: number) => losses[i]![j];
  let points = 0;
  let convex = 0;
  let ratioSum = 0;
  let ratioMax = 0;
  let minCurvature = Infinity;
  let maxCurvature = -Infinity;
  let maxSecond = 0;
  for (let i = 1; i < ys.length - 1; i++)
    for (let j = 1; j < xs.length - 1; j++) {
      const near = [-1, 0, 1].flatMap((di) => [-1, 0, 1].map((dj) => at(i + di, j + dj)));
      if (!near.every(isFinite)) continue;
      const c = at(i, j)!;
      const faa = (at(i, j + 1)! - 2 * c + at(i, j - 1)!) / (h * h);
      const fbb = (at(i + 1, j)! - 2 * c + at(i - 1, j)!) / (k * k);
      const fab =
        (at(i + 1, j + 1)! - at(i - 1, j + 1)! - at(i + 1, j - 1)! + at(i - 1, j - 1)!) /
        (4 * h * k);
      // Eigenvalues of [[faa, fab], [fab, fbb]].
      const mean = (faa + fbb) / 2;
      const radius = Math.hypot((faa - fbb) / 2, fab);
      const [l1, l2] = [mean + radius, mean - radius];
      const largest = Math.max(Math.abs(l1), Math.abs(l2));
      const ratio = largest <= noiseFloor ? 0 : Math.max(0, -l2) / largest;
      points++;
      if (l2 >= -noiseFloor) convex++;
      ratioSum += ratio;
      ratioMax = Math.max(ratioMax, ratio);
      minCurvature = Math.min(minCurvature, l2);
      maxCurvature = Math.max(maxCurvature, l1);
      maxSecond = Math.max(maxSecond, Math.abs(faa), Math.abs(fbb));
    }
  return {
    ...summary(points, convex, minCurvature, maxCurvature, maxSecond, noiseFloor),
    ...(points > 0 ? { nonConvexity: { mean: ratioSum / points, max: ratioMax } } : {}),
  };
}

function summary(
  points: number,
  convex: number,
  minCurvature: number,
  maxCurvature: number,
  maxSecond: number | undefined,
  noiseFloor: number,
): SurfaceCurvature {
  if (points === 0)
    return {
      points,
      convexFraction: 0,
      minCurvature: NaN,
      maxCurvature: NaN,
      maxSecondDifference: NaN,
      noiseFloor,
    };
  return {
    points,
    convexFraction: convex / points,
    minCurvature,
    maxCurvature,
    maxSecondDifference: maxSecond ?? Math.max(Math.abs(minCurvature), Math.abs(maxCurvature)),
    noiseFloor,
  };
}
