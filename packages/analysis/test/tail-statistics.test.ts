/**
 * Tail statistics against closed forms: Hill's estimator on Pareto and |Student-t| samples
 * (the t's Hill functional by quadrature of its exact quantile function), light tails, the
 * excess kurtosis of Gaussian, Laplace and uniform samples, exponential quantile ratios, and
 * the Gaussian control's mean and covariance.
 */
import { describe, expect, it } from 'vitest';
import { TdxError } from '@tdx/core';
import { Rng } from '@tdx/tensor';
import {
  compareTails,
  excessKurtosis,
  gaussianControl,
  gaussianControlNormsFromGram,
  gaussianControlNormsFromRows,
  hillEstimator,
  hillTailSize,
  quantile,
  quantileRatios,
  tailSummary,
} from '../src/statistics/index.js';

// Samplers, by inversion or from their definitions.
const uniformOpen = (rng: Rng) => 1 - rng.uniform(); // (0, 1]
const pareto = (rng: Rng, alpha: number, n: number) =>
  Float64Array.from({ length: n }, () => uniformOpen(rng) ** (-1 / alpha));
const exponential = (rng: Rng, n: number, rate = 1) =>
  Float64Array.from({ length: n }, () => -Math.log(uniformOpen(rng)) / rate);
const absStudentT = (rng: Rng, nu: number, n: number) =>
  Float64Array.from({ length: n }, () =>
    Math.abs(rng.normal() / Math.sqrt(rng.gamma(nu / 2, 2) / nu)),
  );
const laplace = (rng: Rng, n: number) =>
  Float64Array.from(
    { length: n },
    () => (rng.uniform() < 0.5 ? -1 : 1) * -Math.log(uniformOpen(rng)),
  );

/**
 * The Hill functional at tail fraction p of a distribution with upper quantile Q(u)
 * (P(X > Q(u)) = u): the limit of α̂ for n → ∞ with k/n = p,
 * 1 / ((1/p) ∫_0^p log(Q(u)/Q(p)) du) = 1 / ∫_0^∞ log(Q(p e^{−s})/Q(p)) e^{−s} ds
 * (Simpson's rule on s ∈ [0, 40]). Equal to α for an exact Pareto tail; the gap is the
 * estimator's bias at this fraction.
 */
function hillFunctional(upperQuantile: (u: number) => number, p: number): number {
  const qp = upperQuantile(p);
  const f = (s: number) => Math.log(upperQuantile(p * Math.exp(-s)) / qp) * Math.exp(-s);
  const m = 2000;
  const h = 40 / m;
  let sum = f(0) + f(40);
  for (let i = 1; i < m; i++) sum += (i % 2 === 1 ? 4 : 2) * f(i * h);
  return 1 / ((sum * h) / 3);
}

/** Upper quantiles of |T| for t₂ (closed form) and t₃ (bisection on its closed-form tail). */
const upperQuantileAbsT2 = (u: number) => (1 - u) * Math.sqrt(2 / (u * (2 - u)));
function upperQuantileAbsT3(u: number): number {
  // P(|T₃| > x) = (2/π) (atan(√3/x) − √3 x/(3 + x²)).
  const tail = (x: number) =>
    (2 / Math.PI) * (Math.atan(Math.sqrt(3) / x) - (Math.sqrt(3) * x) / (3 + x * x));
  let lo = 0;
  let hi = 1;
  while (tail(hi) > u) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tail(mid) > u) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

describe('Hill tail-index estimator', () => {
  it('matches the formula on a hand-computed sample', () => {
    // Top k = 2 of [1, 2, 4, 8, 16] over X_(3) = 4: mean of log 4 and log 2 = 1.5 ln 2.
    const est = hillEstimator([8, 1, 16, 2, 4], { k: 2 });
    expect(est.alpha).toBeCloseTo(1 / (1.5 * Math.LN2), 12);
    expect(est.threshold).toBe(4);
    expect(est.standardError).toBeCloseTo(est.alpha / Math.SQRT2, 12);
    expect(est.n).toBe(5);
  });

  it('chooses k as a fraction of n, at least 10 (or n − 1), at most n − 1', () => {
    expect(hillTailSize(1000)).toBe(100);
    expect(hillTailSize(1000, 0.02)).toBe(20);
    expect(hillTailSize(50)).toBe(10);
    expect(hillTailSize(6)).toBe(5);
    expect(hillTailSize(20, 0.5)).toBe(10);
    expect(() => hillTailSize(1)).toThrow(TdxError);
    expect(() => hillTailSize(100, 0)).toThrow(/tail fraction/);
  });

  it('refuses non-positive or non-finite samples', () => {
    expect(() => hillEstimator([1, 2, 0, 3])).toThrow(/sample 2 is 0/);
    expect(() => hillEstimator([1, NaN, 3])).toThrow(TdxError);
    expect(() => hillEstimator([1, 2, 3], { k: 3 })).toThrow(/1 ≤ k < n/);
  });

  it.each([1, 2, 3])('recovers α = %d of Pareto(α) samples within 3 standard errors', (alpha) => {
    const est = hillEstimator(pareto(new Rng(100 + alpha), alpha, 20_000));
    expect(est.k).toBe(2000);
    expect(est.standardError).toBeCloseTo(est.alpha / Math.sqrt(2000), 12);
    expect(Math.abs(est.alpha - alpha)).toBeLessThan(3 * est.standardError);
  });

  it.each([
    [2, upperQuantileAbsT2],
    [3, upperQuantileAbsT3],
  ] as const)(
    'recovers ν = %d of |Student-t(ν)| samples, up to its known second-order bias',
    (nu, upperQuantile) => {
      const p = 0.02;
      const est = hillEstimator(absStudentT(new Rng(200 + nu), nu, 50_000), { fraction: p });
      expect(est.k).toBe(1000);
      // The population value at k/n = 2% (scipy gives 1.9700 and 2.8124): biased down by 1.5%
      // (ν = 2) and 6% (ν = 3), as the t's second-order tail term x^(−ν−2) predicts.
      const limit = hillFunctional(upperQuantile, p);
      expect(limit).toBeLessThan(nu);
      expect((nu - limit) / nu).toBeLessThan(0.07);
      expect(Math.abs(est.alpha - limit)).toBeLessThan(3 * est.standardError);
      expect(Math.abs(est.alpha - nu)).toBeLessThan(3 * est.standardError + (nu - limit));
    },
  );

  it('the quadrature reproduces α exactly for a Pareto tail', () => {
    expect(hillFunctional((u) => u ** (-1 / 2.5), 0.1)).toBeCloseTo(2.5, 6);
  });

  it('finds no heavy tail in |Gaussian| samples: a large index that grows as k/n shrinks', () => {
    const rng = new Rng(300);
    const gauss = Float64Array.from({ length: 100_000 }, () => Math.abs(rng.normal()));
    const at10 = hillEstimator(gauss, { fraction: 0.1 });
    const at1 = hillEstimator(gauss, { fraction: 0.01 });
    // Population values 4.72 and 9.00 (Hill functional of the half-normal); no finite limit.
    expect(at10.alpha).toBeGreaterThan(4.4);
    expect(at1.alpha).toBeGreaterThan(
      at10.alpha + 3 * Math.hypot(at1.standardError, at10.standardError),
    );
    // A Pareto tail keeps its index as k/n shrinks.
    const par = pareto(new Rng(301), 2, 100_000);
    const p10 = hillEstimator(par, { fraction: 0.1 });
    const p1 = hillEstimator(par, { fraction: 0.01 });
    expect(Math.abs(p1.alpha - p10.alpha)).toBeLessThan(
      3 * Math.hypot(p1.standardError, p10.standardError),
    );
  });
});

describe('heavier-than-Gaussian criterion', () => {
  const halfNormal = (seed: number, n: number) => {
    const rng = new Rng(seed);
    return Float64Array.from({ length: n }, () => Math.abs(rng.normal()));
  };

  it('says no for |Gaussian| against an independent |Gaussian| control', () => {
    const sample = tailSummary(halfNormal(400, 5000));
    const control = tailSummary(halfNormal(401, 5000));
    const c = compareTails(sample, control);
    expect(c.heavier).toBe(false);
    expect(Math.abs(c.gapInStandardErrors)).toBeLessThan(2);
    expect(c.criterion).toMatch(/2 standard errors/);
  });

  it('says yes for |Student-t(3)| against a |Gaussian| control', () => {
    const c = compareTails(
      tailSummary(absStudentT(new Rng(402), 3, 5000)),
      tailSummary(halfNormal(403, 5000)),
    );
    expect(c.heavier).toBe(true);
    expect(c.gapInStandardErrors).toBeGreaterThan(2);
    expect(c.kurtosisGap).toBeGreaterThan(0);
  });

  it('needs both a lower index and a larger kurtosis', () => {
    const s = (alpha: number, se: number, kurt: number) => ({
      hill: { alpha, standardError: se, k: 100, n: 1000, threshold: 1 },
      excessKurtosis: kurt,
    });
    expect(compareTails(s(2, 0.2, 5), s(4, 0.4, 0)).heavier).toBe(true); // gap 2 > 2·0.447
    expect(compareTails(s(2, 0.2, -1), s(4, 0.4, 0)).heavier).toBe(false); // kurtosis smaller
    expect(compareTails(s(3.5, 0.2, 5), s(4, 0.4, 0)).heavier).toBe(false); // gap 0.5 < 0.894
    expect(compareTails(s(3, 0.3, 5), s(Infinity, Infinity, 0)).heavier).toBe(true);
    expect(compareTails(s(2, 0.2, 5), s(4, 0.4, 0), { standardErrors: 5 }).heavier).toBe(false);
  });
});

describe('excess kurtosis', () => {
  it('is −1.36 for [1, 2, 3, 4] (m2 = 1.25, m4 = 2.5625)', () => {
    expect(excessKurtosis([4, 1, 3, 2])).toBeCloseTo(2.5625 / 1.5625 - 3, 12);
    expect(excessKurtosis([2, 2, 2])).toBeNaN();
  });

  it('is 0 for Gaussian, 3 for Laplace (kurtosis 6), −1.2 for uniform samples', () => {
    const n = 200_000;
    const rng = new Rng(500);
    const gauss = excessKurtosis(rng.normalArray(n));
    // Standard errors: √(24/n) ≈ 0.011 (Gaussian); ≈ 0.08 (Laplace, by simulation).
    expect(Math.abs(gauss)).toBeLessThan(4 * Math.sqrt(24 / n));
    expect(Math.abs(excessKurtosis(laplace(new Rng(501), n)) - 3)).toBeLessThan(0.3);
    expect(excessKurtosis(new Rng(502).uniformArray(n))).toBeCloseTo(-1.2, 1);
    expect(Math.abs(excessKurtosis(exponential(new Rng(503), n)) - 6)).toBeLessThan(0.6);
  });
});

describe('quantile ratios', () => {
  it('interpolates linearly between order statistics (type 7)', () => {
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(quantile([5, 1, 4, 2, 3], 0.99)).toBeCloseTo(4.96, 12);
    expect(quantile([5, 1, 4, 2, 3], 0)).toBe(1);
    expect(quantile([5, 1, 4, 2, 3], 1)).toBe(5);
    expect(quantile([10, 20], 0.25)).toBeCloseTo(12.5, 12);
  });

  it('match the exponential distribution: ln 100 / ln 2 and ln 1000 / ln 2, for any rate', () => {
    for (const rate of [1, 7]) {
      const r = quantileRatios(exponential(new Rng(600 + rate), 200_000, rate));
      // Relative standard errors about 0.6% (q0.99) and 1.1% (q0.999).
      expect(Math.abs(r.q99OverQ50 / (Math.log(100) / Math.LN2) - 1)).toBeLessThan(0.025);
      expect(Math.abs(r.q999OverQ50 / (Math.log(1000) / Math.LN2) - 1)).toBeLessThan(0.045);
      expect(Math.abs(r.q50 * rate - Math.LN2)).toBeLessThan(0.01);
    }
  });
});

describe('Gaussian control', () => {
  // 40 correlated 3-vectors with a non-zero mean.
  const sample = (() => {
    const rng = new Rng(700);
    const a = [
      [1.5, 0, 0],
      [0.8, 0.6, 0],
      [-0.5, 0.3, 0.2],
    ];
    return Array.from({ length: 40 }, () => {
      const xi = rng.normalArray(3);
      return Float64Array.from(
        a,
        (row, i) => [2, -1, 0.5][i]! + row.reduce((s, v, k) => s + v * xi[k]!, 0),
      );
    });
  })();

  const meanAndCovariance = (xs: Float64Array[]) => {
    const n = xs.length;
    const d = xs[0]!.length;
    const mean = Array.from({ length: d }, (_, i) => xs.reduce((s, x) => s + x[i]!, 0) / n);
    const cov = Array.from({ length: d }, (_, i) =>
      Array.from(
        { length: d },
        (_, j) => xs.reduce((s, x) => s + (x[i]! - mean[i]!) * (x[j]! - mean[j]!), 0) / (n - 1),
      ),
    );
    return { mean, cov };
  };

  it('has the sample mean and covariance of its input (100,000 draws)', () => {
    const want = meanAndCovariance(sample);
    const got = meanAndCovariance(gaussianControl(sample, 100_000, new Rng(701)));
    const scale = Math.max(...want.cov.flat().map(Math.abs));
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(got.mean[i]! - want.mean[i]!)).toBeLessThan(0.015 * Math.sqrt(scale));
      for (let j = 0; j < 3; j++) {
        expect(Math.abs(got.cov[i]![j]! - want.cov[i]![j]!)).toBeLessThan(0.02 * scale);
      }
    }
    // Centred at zero on request, with the same covariance.
    const centred = meanAndCovariance(
      gaussianControl(sample, 100_000, new Rng(702), { matchMean: false }),
    );
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(centred.mean[i]!)).toBeLessThan(0.015 * Math.sqrt(scale));
      for (let j = 0; j < 3; j++) {
        expect(Math.abs(centred.cov[i]![j]! - want.cov[i]![j]!)).toBeLessThan(0.02 * scale);
      }
    }
  });

  it('gives the same norms from the vectors, from the stored rows and from the Gram matrix', () => {
    const n = sample.length;
    const rows = new Float64Array(n * 3);
    sample.forEach((x, j) => rows.set(x, 3 * j));
    const gram = new Float64Array(n * n);
    for (let j = 0; j < n; j++)
      for (let k = 0; k < n; k++)
        gram[j * n + k] = sample[j]!.reduce((s, v, i) => s + v * sample[k]![i]!, 0);
    const vectors = gaussianControl(sample, 25, new Rng(9)).map((z) => Math.hypot(...z));
    const fromRows = gaussianControlNormsFromRows(rows, n, 3, 25, new Rng(9));
    const fromGram = gaussianControlNormsFromGram(gram, n, 25, new Rng(9));
    for (let m = 0; m < 25; m++) {
      expect(fromRows[m]).toBeCloseTo(vectors[m]!, 10);
      expect(fromGram[m]).toBeCloseTo(vectors[m]!, 10);
    }
    expect(() => gaussianControlNormsFromGram(gram, n + 1, 1, new Rng(1))).toThrow(TdxError);
  });
});
