/**
 * particleSums, the host arithmetic behind Q, ‖∇Q‖ and the stationarity gap, against sums worked
 * by hand: two layers, an attention group of two 2-D particles with one frozen entry and an
 * MLP group of one 1-D particle, λ = 0.5.
 */
import { describe, expect, it } from 'vitest';
import type { ParticleGroup } from '@tdx/tensor';
import { particleSums } from '../src/plugins/mean-field.js';

const group = (
  kind: ParticleGroup['kind'],
  layer: number,
  count: number,
  values: number[],
): ParticleGroup => ({
  kind,
  layer,
  count,
  dimension: values.length / count,
  values: Float64Array.from(values),
});

describe('particleSums', () => {
  const thetas = [group('attention', 0, 2, [1, 2, 3, 4]), group('mlp', 1, 1, [2])];
  const grads = [group('attention', 0, 2, [0.1, -0.2, 0, 0.5]), group('mlp', 1, 1, [1])];
  const mask = [group('attention', 0, 2, [1, 1, 0, 1]), group('mlp', 1, 1, [1])];

  it('sums (1/LM)‖θ‖² over every entry and the velocity terms over the unmasked ones', () => {
    // L·M = 4 for the heads, 2 for the neuron. Velocities v = −LM g − λθ of the unmasked
    // entries: −0.9, −0.2, −4 (heads) and −3 (neuron).
    const sums = particleSums(thetas, grads, mask, 2, 0.5);
    expect(sums.norms).toBeCloseTo((1 + 4 + 9 + 16) / 4 + 4 / 2, 14);
    expect(sums.particleGradSquared).toBeCloseTo(0.01 + 0.04 + 0.25 + 1, 14);
    expect(sums.objectiveParticleSquared).toBeCloseTo((0.81 + 0.04 + 16) / 16 + 9 / 4, 14);
    expect(sums.stationarityByKind.attention).toBeCloseTo((0.81 + 0.04 + 16) / 4, 14);
    expect(sums.stationarityByKind.mlp).toBeCloseTo(9 / 2, 14);
  });

  it('without a mask counts every entry', () => {
    // The masked entry: θ = 3, g = 0, so v = −1.5.
    const sums = particleSums(thetas, grads, undefined, 2, 0.5);
    expect(sums.stationarityByKind.attention).toBeCloseTo((0.81 + 0.04 + 2.25 + 16) / 4, 14);
    expect(sums.objectiveParticleSquared).toBeCloseTo((0.81 + 0.04 + 2.25 + 16) / 16 + 9 / 4, 14);
  });
});
