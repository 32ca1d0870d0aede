/**
 * The weight spectra of init-conditions against singular values worked out by hand:
 * [[1, 1], [0, 1]] has σ = φ and 1/φ (σ₁σ₂ = |det| = 1, σ₁² + σ₂² = ‖·‖_F² = 3), a scaled
 * permutation has its scales, a rank-one matrix a zero σ_min.
 */
import { describe, expect, it } from 'vitest';
import { weightSpectra, weightSpectrum } from '../src/init-conditions/weight-spectra.js';

const phi = (1 + Math.sqrt(5)) / 2;
const value = { name: 'attn.value', role: 'value', rows: 2, cols: 2, values: [1, 1, 0, 1] };
// 2 × 3: the rows are 3·e₁ and e₂, so σ = 3, 1.
const query = { name: 'attn.query', role: 'query', rows: 2, cols: 3, values: [3, 0, 0, 0, 1, 0] };
// [[0, 2], [0.5, 0]]: a permutation times diag(2, 0.5).
const key = { name: 'attn.key', role: 'key', rows: 2, cols: 2, values: [0, 2, 0.5, 0] };

describe('init-conditions weight spectra', () => {
  it('gives each matrix its singular values, σ_min, σ_max and κ', () => {
    const v = weightSpectrum(value);
    expect(v.singularValues[0]).toBeCloseTo(phi, 12);
    expect(v.singularValues[1]).toBeCloseTo(1 / phi, 12);
    expect(v.conditionNumber).toBeCloseTo(phi * phi, 10);
    const q = weightSpectrum(query);
    expect(q.shape).toEqual([2, 3]);
    expect(q.sigmaMax).toBeCloseTo(3, 12);
    expect(q.sigmaMin).toBeCloseTo(1, 12);
    // A tall matrix: the same values as its transpose.
    const qt = weightSpectrum({ ...query, rows: 3, cols: 2, values: [3, 0, 0, 1, 0, 0] });
    expect(qt.singularValues).toEqual(q.singularValues.map((s) => expect.closeTo(s, 12)));
  });

  it("gives W_Q's and W_K's extremes against W_V's", () => {
    const { spectra, ratios } = weightSpectra([query, key, value]);
    expect(Object.keys(spectra)).toEqual(['attn.query', 'attn.key', 'attn.value']);
    expect(ratios['queryMin/valueMax']).toBeCloseTo(1 / phi, 12);
    expect(ratios['queryMax/valueMin']).toBeCloseTo(3 * phi, 12);
    expect(ratios['keyMin/valueMax']).toBeCloseTo(0.5 / phi, 12);
    expect(ratios['keyMax/valueMin']).toBeCloseTo(2 * phi, 12);
  });

  it('reports a singular W_V as null ratios and an infinite κ as null', () => {
    const singular = { ...value, values: [1, 2, 2, 4] };
    const { spectra, ratios } = weightSpectra([query, singular]);
    expect(spectra['attn.value']!.sigmaMax).toBeCloseTo(5, 12);
    expect(spectra['attn.value']!.sigmaMin).toBeLessThan(1e-7);
    expect(ratios['queryMin/valueMax']).toBeCloseTo(1 / 5, 12);
    expect(
      spectra['attn.value']!.conditionNumber === null ||
        spectra['attn.value']!.conditionNumber! > 1e7,
    ).toBe(true);
  });

  it('gives no ratios without exactly one value block', () => {
    expect(weightSpectra([query, key]).ratios).toEqual({});
    expect(weightSpectra([query, value, { ...value, name: 'b.value' }]).ratios).toEqual({});
  });
});
