/** Host linear algebra against closed forms. */
import { describe, expect, it } from 'vitest';
import {
  axpy,
  dot,
  norm,
  normalized,
  powerIteration,
  relativeError,
  scaled,
} from '../src/linalg/host.js';

describe('host vector arithmetic', () => {
  it('dot, norm, axpy, scaled, normalized and relativeError on small vectors', () => {
    const a = Float64Array.of(3, 4, 0);
    const b = [1, -2, 5];
    expect(dot(a, b)).toBe(-5);
    expect(norm(a)).toBe(5);
    const y = Float64Array.of(1, 1, 1);
    axpy(2, b, y);
    expect(Array.from(y)).toEqual([3, -3, 11]);
    expect(Array.from(scaled(b, -1))).toEqual([-1, 2, -5]);
    expect(Array.from(normalized(a)!)).toEqual([0.6, 0.8, 0]);
    expect(normalized([0, 0])).toBeNull();
    expect(relativeError([3, 4], [0, 0], 1)).toBe(5);
    expect(relativeError([1, 1], [1, 2])).toBeCloseTo(1 / Math.sqrt(5), 15);
  });
});

describe('powerIteration', () => {
  // diag(−3, 2, 1): the eigenvalue of largest magnitude is −3.
  const diagonal = (v: Float64Array) => Float64Array.of(-3 * v[0]!, 2 * v[1]!, v[2]!);

  it('converges to the eigenvalue of largest magnitude, sign included', () => {
    const r = powerIteration(diagonal, 3, { tolerance: 1e-12, maxIterations: 1000 });
    expect(r.converged).toBe(true);
    expect(r.eigenvalue).toBeCloseTo(-3, 10);
    expect(Math.abs(r.eigenvector[0]!)).toBeCloseTo(1, 5);
  });

  it('starts from the given vector, else from the seed', () => {
    const start = Float64Array.of(0, 5, 1);
    // Without a component along e_0 it finds the next eigenvalue, 2.
    const r = powerIteration(diagonal, 3, { start, tolerance: 1e-12, maxIterations: 1000 });
    expect(r.eigenvalue).toBeCloseTo(2, 10);
    expect(powerIteration(diagonal, 3, { seed: 4 })).toEqual(
      powerIteration(diagonal, 3, { seed: 4 }),
    );
  });

  it('stops at a zero product with eigenvalue 0, converged', () => {
    const r = powerIteration((v) => new Float64Array(v.length), 4);
    expect(r).toMatchObject({ eigenvalue: 0, iterations: 1, converged: true });
  });
});
