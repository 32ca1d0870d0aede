/**
 * The landscape's smoothness number on surfaces of known curvature: second differences are
 * exact on quadratics, so a bowl, a saddle, a tilted saddle and a dome give their Hessians'
 * eigenvalues and non-convexity ratios to rounding.
 */
import { describe, expect, it } from 'vitest';
import { linspace } from '../src/landscape/config.js';
import { sliceCurvature, surfaceCurvature } from '../src/landscape/surface-curvature.js';

const xs = linspace(-1, 1, 21);
const ys = linspace(-0.5, 1.5, 11);
/** losses[i][j] = f(xs[j], ys[i]), the loss-landscape layout. */
const grid = (f: (a: number, b: number) => number) => ys.map((b) => xs.map((a) => f(a, b)));

describe('landscape surface curvature', () => {
  it('finds a quadratic bowl convex everywhere, with its two curvatures', () => {
    // Hessian [[2, 1], [1, 4]]: eigenvalues 3 ± √2, both positive.
    const c = surfaceCurvature(
      grid((a, b) => 1 + a * a + a * b + 2 * b * b + 0.3 * a),
      xs,
      ys,
    );
    expect(c.points).toBe(19 * 9);
    expect(c.convexFraction).toBe(1);
    expect(c.nonConvexity).toEqual({ mean: 0, max: 0 });
    expect(c.minCurvature).toBeCloseTo(3 - Math.SQRT2, 6);
    expect(c.maxCurvature).toBeCloseTo(3 + Math.SQRT2, 6);
    expect(c.maxSecondDifference).toBeCloseTo(4, 6);
  });

  it('gives a saddle |λ_min/λ_max| at every point', () => {
    // Hessian diag(2, −1): ratio 1/2.
    const c = surfaceCurvature(
      grid((a, b) => a * a - 0.5 * b * b),
      xs,
      ys,
    );
    expect(c.convexFraction).toBe(0);
    expect(c.nonConvexity!.mean).toBeCloseTo(0.5, 6);
    expect(c.nonConvexity!.max).toBeCloseTo(0.5, 6);
    expect(c.minCurvature).toBeCloseTo(-1, 6);
    expect(c.maxCurvature).toBeCloseTo(2, 6);
  });

  it('reads the cross term: x² + 3xy + y² is a saddle with eigenvalues 5 and −1', () => {
    const c = surfaceCurvature(
      grid((a, b) => a * a + 3 * a * b + b * b),
      xs,
      ys,
    );
    expect(c.nonConvexity!.mean).toBeCloseTo(0.2, 6);
    expect(c.minCurvature).toBeCloseTo(-1, 6);
    expect(c.maxCurvature).toBeCloseTo(5, 6);
    // Along each axis the surface is convex: only the Hessian sees the saddle.
    expect(c.maxSecondDifference).toBeCloseTo(2, 6);
  });

  it('gives a dome ratio 1, and a half-bowl half-dome the fraction of its convex half', () => {
    const dome = surfaceCurvature(
      grid((a, b) => -(a * a) - b * b),
      xs,
      ys,
    );
    expect(dome.nonConvexity!.mean).toBeCloseTo(1, 6);
    // A cubic in a: f_aa = 6a, convex for a ≥ 0 (flat along b).
    const cubic = surfaceCurvature(
      grid((a) => a ** 3),
      xs,
      ys,
    );
    // Interior a = −0.9 … 0.9: a ≥ 0 at 10 of 19 columns (a = 0 included: f_aa = 0).
    expect(cubic.convexFraction).toBeCloseTo(10 / 19, 12);
    expect(cubic.minCurvature).toBeCloseTo(-5.4, 5);
  });

  it('skips points next to a non-finite loss, and takes a slice', () => {
    const losses: Array<Array<number | null>> = grid((a, b) => a * a + b * b);
    losses[5]![10] = null;
    expect(surfaceCurvature(losses, xs, ys).points).toBe(19 * 9 - 9);
    const slice = sliceCurvature(
      xs.map((a) => 3 * a * a - a),
      xs,
    );
    expect(slice.points).toBe(19);
    expect(slice.convexFraction).toBe(1);
    expect(slice.minCurvature).toBeCloseTo(6, 6);
    expect(slice.nonConvexity).toBeUndefined();
  });

  it('treats curvature below float32 rounding as flat', () => {
    const flat = surfaceCurvature(
      grid((a, b) => Math.fround(1 + 1e-9 * (a * a - b * b))),
      xs,
      ys,
    );
    expect(flat.convexFraction).toBe(1);
    expect(flat.nonConvexity!.max).toBe(0);
  });

  it('refuses uneven coordinates and mismatched shapes', () => {
    expect(() => sliceCurvature([1, 2, 3], [0, 1, 3])).toThrow(/evenly spaced/);
    expect(() => surfaceCurvature([[1, 2, 3]], xs, ys)).toThrow(/rows/);
  });
});
