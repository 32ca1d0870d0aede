import { describe, expect, it } from 'vitest';
import { deriveSeed, hashOf, scheduledSteps } from '../src/index.js';

describe('scheduledSteps', () => {
  it('fires every K states and at the final state', () => {
    expect([...scheduledSteps({ every: 4 }, 10)].sort((a, b) => a - b)).toEqual([0, 4, 8, 10]);
  });
  it('fires at explicit states, ignoring ones past the end', () => {
    expect([...scheduledSteps({ at: [3, 1, 30] }, 10)].sort((a, b) => a - b)).toEqual([1, 3]);
  });
  it('fires at the final state only when nothing is said', () => {
    expect([...scheduledSteps({}, 10)]).toEqual([10]);
  });
});

describe('deriveSeed', () => {
  it('is a deterministic function of the seed and labels', () => {
    expect(deriveSeed(3, 'model')).toBe(deriveSeed(3, 'model'));
    expect(deriveSeed(3, 'model')).not.toBe(deriveSeed(3, 'dataset'));
    expect(deriveSeed(3, 'model')).not.toBe(deriveSeed(4, 'model'));
    expect(deriveSeed(3, 'a', 'bc')).not.toBe(deriveSeed(3, 'ab', 'c'));
  });
  it('spreads seeds evenly over 32 bits', () => {
    const buckets = new Array(16).fill(0);
    for (let i = 0; i < 16000; i++) buckets[deriveSeed(i, 'x') >>> 28]++;
    // Chi-square with 15 degrees of freedom: 37.7 is the 0.1% critical value.
    const chi2 = buckets.reduce((s, c) => s + (c - 1000) ** 2 / 1000, 0);
    expect(chi2).toBeLessThan(37.7);
  });
});

describe('hashOf', () => {
  it('ignores key order', () => {
    expect(hashOf({ a: 1, b: [1, { c: 2, d: 3 }] })).toBe(hashOf({ b: [1, { d: 3, c: 2 }], a: 1 }));
    expect(hashOf({ a: 1 })).not.toBe(hashOf({ a: 2 }));
  });
});
