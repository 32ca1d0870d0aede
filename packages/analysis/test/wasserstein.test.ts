/**
 * 1-D and sliced 2-Wasserstein distances against hand computations and Gaussian closed forms:
 * W2(N(μ1, σ1²), N(μ2, σ2²))² = (μ1 − μ2)² + (σ1 − σ2)², and for isotropic Gaussians in d
 * dimensions SW2² = ‖μ1 − μ2‖²/d + (σ1 − σ2)² (E (u·a)² = ‖a‖²/d for u uniform on the sphere).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '@tdx/tensor';
import {
  randomDirections,
  slicedWasserstein,
  wasserstein1d,
  wasserstein1dSquared,
} from '../src/statistics/wasserstein.js';

/**
 * Four standard deviations of the plug-in W2 between two Gaussian samples of sizes n and m:
 * W2 ≈ hypot(Δμ̂, Δσ̂), with Δμ̂ fluctuating by s = sqrt(σ1²/n + σ2²/m) and Δσ̂ by s/√2, so W2 by
 * at most 1.23 s; plus the bias of the empirical quantile functions, E W2²(sample, Gaussian) ≍
 * σ² log log n / n (Bobkov & Ledoux 2019), which adds at most its square over 2W2.
 */
function margin(s1: number, n: number, s2: number, m: number, w: number): number {
  const s = Math.sqrt(s1 ** 2 / n + s2 ** 2 / m);
  const bias = (s1 ** 2 * Math.log(Math.log(n))) / n + (s2 ** 2 * Math.log(Math.log(m))) / m;
  return 4 * 1.23 * s + (4 * bias) / (2 * w);
}

describe('wasserstein1d', () => {
  it('matches hand computations for sets of sizes 2 and 3', () => {
    // Quantile steps at 1/2 and at 1/3, 2/3: pieces (0,1/3) (1/3,1/2) (1/2,2/3) (2/3,1).
    // {0,1} vs {0,1,2}: differences 0, 1, 0, 1 → 1/6 + 1/3 = 1/2.
    expect(wasserstein1dSquared([0, 1], [0, 1, 2])).toBeCloseTo(1 / 2, 14);
    // {0,3} vs {1,2,4}: differences 1, 2, 1, 1 → 1/3 + 4/6 + 1/6 + 1/3 = 3/2.
    expect(wasserstein1dSquared([3, 0], [4, 1, 2])).toBeCloseTo(3 / 2, 14);
    expect(wasserstein1d([3, 0], [4, 1, 2])).toBeCloseTo(Math.sqrt(3 / 2), 14);
    // Equal sizes: the mean squared difference of the order statistics.
    expect(wasserstein1dSquared([1, 5, 2], [0, 0, 9])).toBeCloseTo((1 + 4 + 16) / 3, 14);
    // A point mass against a sample: the mean squared distance to it.
    expect(wasserstein1dSquared([2], [0, 1, 5, 6])).toBeCloseTo((4 + 1 + 9 + 16) / 4, 14);
  });

  it('is symmetric, zero for identical sets (also repeated), invariant to permutations', () => {
    const rng = new Rng(3);
    const x = rng.normalArray(37);
    const y = rng.normalArray(53, 0.5, 2);
    expect(wasserstein1d(x, y)).toBeCloseTo(wasserstein1d(y, x), 12);
    expect(wasserstein1d(x, x)).toBe(0);
    // The same distribution written with every point twice.
    expect(wasserstein1d(x, [...x, ...x])).toBeCloseTo(0, 12);
    const shuffled = rng.shuffle([...x]);
    expect(wasserstein1d(shuffled, y)).toBe(wasserstein1d(x, y));
  });

  it('converges to the closed form between Gaussians of different sizes', () => {
    const rng = new Rng(11);
    const cases = [
      { m1: 0, s1: 1, m2: 0.7, s2: 1.8, n: 20000, m: 15000 },
      { m1: -2, s1: 0.5, m2: 1, s2: 0.5, n: 8000, m: 12000 },
      { m1: 1, s1: 2, m2: 1, s2: 0.3, n: 10000, m: 7000 },
    ];
    for (const c of cases) {
      const x = rng.normalArray(c.n, c.m1, c.s1);
      const y = rng.normalArray(c.m, c.m2, c.s2);
      const exact = Math.hypot(c.m1 - c.m2, c.s1 - c.s2);
      expect(Math.abs(wasserstein1d(x, y) - exact)).toBeLessThan(
        margin(c.s1, c.n, c.s2, c.m, exact),
      );
    }
  });

  it('refuses empty and non-finite samples', () => {
    expect(() => wasserstein1d([], [1])).toThrow(/has none/);
    expect(() => wasserstein1d([1, NaN], [1])).toThrow(/x\[1\] is NaN/);
  });
});

describe('slicedWasserstein', () => {
  it('matches a hand computation along given directions', () => {
    // Along e1: {0,1} vs {0,1,2} → 1/2; along e2: {0,0} vs {0,1,0} → 1/3 (last third). Mean 5/12.
    const a = { values: [0, 0, 1, 0], dimension: 2 };
    const b = { values: [0, 0, 1, 1, 2, 0], dimension: 2 };
    const sw = slicedWasserstein(a, b, { directions: Float64Array.from([1, 0, 0, 3]) });
    expect(sw.squared).toBeCloseTo(5 / 12, 14);
    expect(sw.distance).toBeCloseTo(Math.sqrt(5 / 12), 14);
    expect(sw.directions).toBe(2);
    // Two values 1/2 and 1/3: sample sd |1/2 − 1/3|/√2, over √2.
    expect(sw.squaredStandardError).toBeCloseTo(1 / 12, 14);
    expect(sw.standardError).toBeCloseTo(1 / 12 / (2 * Math.sqrt(5 / 12)), 14);
  });

  it('draws unit directions from its seed', () => {
    const u = randomDirections(4, 50, 9);
    for (let k = 0; k < 50; k++) {
      expect(Math.hypot(...u.subarray(4 * k, 4 * k + 4))).toBeCloseTo(1, 14);
    }
    expect(randomDirections(4, 50, 9)).toEqual(u);
    expect(randomDirections(4, 50, 10)).not.toEqual(u);
    const rng = new Rng(1);
    const a = { values: rng.normalArray(60), dimension: 3 };
    const b = { values: rng.normalArray(90, 1), dimension: 3 };
    expect(slicedWasserstein(a, b, { seed: 4 })).toEqual(slicedWasserstein(a, b, { seed: 4 }));
  });

  it('is symmetric, zero for identical clouds, invariant to permuting the points', () => {
    const rng = new Rng(5);
    const a = { values: rng.normalArray(3 * 40), dimension: 3 };
    const b = { values: rng.normalArray(3 * 25, 0.3, 1.5), dimension: 3 };
    const options = { directions: 64, seed: 2 };
    const ab = slicedWasserstein(a, b, options);
    expect(slicedWasserstein(b, a, options).squared).toBeCloseTo(ab.squared, 12);
    expect(slicedWasserstein(a, a, options).distance).toBe(0);
    expect(slicedWasserstein(a, a, options).standardError).toBe(0);
    const order = rng.shuffle(Array.from({ length: 40 }, (_, i) => i));
    const permuted = {
      values: Float64Array.from(order.flatMap((j) => [...a.values.subarray(3 * j, 3 * j + 3)])),
      dimension: 3,
    };
    expect(slicedWasserstein(permuted, b, options).squared).toBeCloseTo(ab.squared, 12);
  });

  it('averages (u·Δμ)² to ‖Δμ‖²/d over the sphere: a cloud against its translate', () => {
    // Y = X + Δμ point by point: along u, W2² = (u·Δμ)² exactly, so only the directions vary.
    const rng = new Rng(17);
    const [d, n, K] = [6, 50, 4000];
    const shift = [1, -2, 0.5, 0, 3, -1];
    const x = rng.normalArray(n * d);
    const y = x.map((v, i) => v + shift[i % d]!);
    const sw = slicedWasserstein(
      { values: x, dimension: d },
      { values: y, dimension: d },
      {
        directions: K,
        seed: 3,
      },
    );
    const a2 = shift.reduce((s, v) => s + v * v, 0);
    // Var (u·a)² over the sphere is ‖a‖⁴ (3/(d(d+2)) − 1/d²), since E u₁⁴ = 3/(d(d+2)).
    const se = Math.sqrt((a2 ** 2 * (3 / (d * (d + 2)) - 1 / d ** 2)) / K);
    expect(sw.squaredStandardError / se).toBeGreaterThan(0.9);
    expect(sw.squaredStandardError / se).toBeLessThan(1.1);
    expect(Math.abs(sw.squared - a2 / d)).toBeLessThan(4 * se);
  });

  it('converges to ‖μ1 − μ2‖²/d + (σ1 − σ2)² between independent isotropic Gaussians', () => {
    const rng = new Rng(21);
    const d = 5;
    const [n, m, K] = [6000, 4000, 1000];
    const mu1 = [1, 0, -1, 0.5, 2];
    const mu2 = [0, 0.5, 0, -0.5, 1];
    const [s1, s2] = [1, 1.6];
    const cloud = (count: number, mu: number[], s: number) => ({
      values: Float64Array.from({ length: count * d }, (_, i) => mu[i % d]! + s * rng.normal()),
      dimension: d,
    });
    const sw = slicedWasserstein(cloud(n, mu1, s1), cloud(m, mu2, s2), { directions: K, seed: 7 });
    const diff2 = mu1.reduce((s, x, i) => s + (x - mu2[i]!) ** 2, 0);
    const exact = diff2 / d + (s1 - s2) ** 2;
    const mc = Math.sqrt((diff2 ** 2 * (3 / (d * (d + 2)) - 1 / d ** 2)) / K);
    // Along u, W2 ≈ hypot(u·Δμ̂, Δσ̂): the sample means and deviations fluctuate by
    // sqrt(σ1²/n + σ2²/m) and that over √2, so W2² by about 2·W·1.23·sqrt(σ1²/n + σ2²/m).
    const sampling = 2 * Math.sqrt(exact) * 1.23 * Math.sqrt(s1 ** 2 / n + s2 ** 2 / m);
    expect(Math.abs(sw.squared - exact)).toBeLessThan(4 * mc + 4 * sampling);
  });

  it('refuses clouds of different dimensions and ragged values', () => {
    expect(() =>
      slicedWasserstein({ values: [1, 2], dimension: 2 }, { values: [1, 2, 3], dimension: 3 }),
    ).toThrow(/dimensions 2 and 3/);
    expect(() =>
      slicedWasserstein({ values: [1, 2, 3], dimension: 2 }, { values: [1, 2], dimension: 2 }),
    ).toThrow(/not a whole number of points/);
  });
});
