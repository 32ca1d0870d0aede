import { describe, expect, it } from 'vitest';
import { isMeanFieldModel, missingMeanField, type Model } from '../src/index.js';

/** A model's members that the capability check does not look at. */
const base = {
  params: {},
  loss: () => {
    throw new Error('not used');
  },
  predict: () => {
    throw new Error('not used');
  },
  dispose: () => {},
} as unknown as Model;

describe('the mean-field capability', () => {
  const meanField = { layers: 2, heads: 3, neurons: 4, alpha: 1 };
  const particles = () => [];

  it('is there when both members are', () => {
    const model: Model = { ...base, meanField, particles } as Model;
    expect(missingMeanField(model)).toEqual([]);
    expect(isMeanFieldModel(model)).toBe(true);
  });

  it('names each member a model lacks, particles first', () => {
    expect(missingMeanField(base)).toEqual(['particles', 'meanField']);
    expect(missingMeanField({ ...base, meanField } as Model)).toEqual(['particles']);
    expect(missingMeanField({ ...base, particles } as Model)).toEqual(['meanField']);
    // particles must be a function, meanField present
    expect(missingMeanField({ ...base, particles: 1, meanField: undefined } as Model)).toEqual([
      'particles',
      'meanField',
    ]);
    expect(isMeanFieldModel({ ...base, particles } as Model)).toBe(false);
  });
});
