import { expect, it } from 'vitest';
import { Rng, tf } from '../src/index.js';
import { describeEachBackend } from './support/backends.js';

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0) / a.length;
const variance = (a: ArrayLike<number>) => {
  const m = mean(a);
  return Array.from(a).reduce((s, x) => s + (x - m) ** 2, 0) / (a.length - 1);
};

/** Standard normal CDF via erfc's continued fraction-free approximation (Zelen & Severo 26.2.17). */
function normalCdf(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const d = Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  const p =
    d *
    t *
    (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return x >= 0 ? 1 - p : p;
}

it('gives the same numbers for the same seed, different for another', () => {
  expect(Array.from(new Rng(42).normalArray(5))).toEqual(Array.from(new Rng(42).normalArray(5)));
  expect(new Rng(42).uniform()).not.toBe(new Rng(43).uniform());
  expect(new Rng('model').uniform()).toBe(new Rng('model').uniform());
});

it('restores a saved state exactly, including a pending normal', () => {
  const rng = new Rng(7);
  rng.normal(); // leaves a spare
  const saved = rng.state();
  const ahead = rng.normalArray(9);
  expect(Array.from(Rng.fromState(saved).normalArray(9))).toEqual(Array.from(ahead));
});

it('forks streams that depend on the seed and label only', () => {
  const a = new Rng(1);
  const fork1 = a.fork('data').uniformArray(3);
  a.uniformArray(100);
  expect(Array.from(a.fork('data').uniformArray(3))).toEqual(Array.from(fork1));
  const x = new Rng(1).fork('x').normalArray(20000);
  const y = new Rng(1).fork('y').normalArray(20000);
  const corr = mean(x.map((v, i) => v * y[i]!));
  expect(Math.abs(corr)).toBeLessThan(4 / Math.sqrt(20000));
});

it('draws uniforms and normals with the right moments and distribution', () => {
  const rng = new Rng(3);
  const u = rng.uniformArray(50000);
  expect(mean(u)).toBeCloseTo(0.5, 2);
  expect(variance(u)).toBeCloseTo(1 / 12, 2);
  expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...u)).toBeLessThan(1);
  const z = Array.from(rng.normalArray(50000)).sort((p, q) => p - q);
  // Kolmogorov-Smirnov: the 0.1% critical value is 1.95 / sqrt(n).
  const ks = Math.max(
    ...z.map((x, i) =>
      Math.max(Math.abs((i + 1) / z.length - normalCdf(x)), Math.abs(i / z.length - normalCdf(x))),
    ),
  );
  expect(ks).toBeLessThan(1.95 / Math.sqrt(z.length));
});

it('draws Gamma(k, θ) with mean kθ and variance kθ², heavy-tailed shapes included', () => {
  for (const [k, theta] of [
    [0.1, 10],
    [2.5, 2],
    [1, 1],
  ] as const) {
    const rng = new Rng(`gamma-${k}`);
    const g = Float64Array.from({ length: 100000 }, () => rng.gamma(k, theta));
    const relSe = (4 * Math.sqrt(variance(g) / g.length)) / (k * theta);
    expect(Math.abs(mean(g) / (k * theta) - 1)).toBeLessThan(relSe + 0.01);
    expect(variance(g) / (k * theta * theta)).toBeGreaterThan(0.85);
    expect(variance(g) / (k * theta * theta)).toBeLessThan(1.15);
  }
});

it('shuffles into a permutation and rejects bad arguments', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const shuffled = new Rng(5).shuffle([...items]);
  expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
  expect(shuffled).not.toEqual(items);
  expect(() => new Rng(1).int(0)).toThrow(RangeError);
  expect(() => new Rng(1).gamma(-1)).toThrow(RangeError);
});

describeEachBackend('tensor draws', () => {
  it('are the same numbers on every backend', () => {
    const t = new Rng(11).normalTensor([2, 3], 1, 2);
    expect(t.dtype).toBe('float32');
    expect(Array.from(t.dataSync())).toEqual(
      Array.from(Float32Array.from(new Rng(11).normalArray(6, 1, 2))),
    );
    t.dispose();
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
