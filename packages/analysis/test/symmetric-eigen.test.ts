/** The Jacobi eigensolver and the singular values built on it, against closed forms. */
import { describe, expect, it } from 'vitest';
import { Rng } from '@tdx/tensor';
import { numericalRank, singularPairs, singularValues } from '../src/spectral/singular-values.js';
import { symmetricEigen } from '../src/spectral/symmetric-eigen.js';

/** I − 2 u uᵀ/‖u‖²: a symmetric orthogonal matrix, n × n row-major. */
function householder(u: ArrayLike<number>): Float64Array {
  const n = u.length;
  const norm2 = Array.from(u).reduce((s, x) => s + x * x, 0);
  return Float64Array.from({ length: n * n }, (_, k) => {
    const [i, j] = [Math.floor(k / n), k % n];
    return (i === j ? 1 : 0) - (2 * u[i]! * u[j]!) / norm2;
  });
}

/** Q diag(λ) Qᵀ for a symmetric orthogonal Q. */
function withEigenvalues(Q: Float64Array, lambda: number[]): Float64Array {
  const n = lambda.length;
  return Float64Array.from({ length: n * n }, (_, k) => {
    const [i, j] = [Math.floor(k / n), k % n];
    return lambda.reduce((s, l, m) => s + Q[i * n + m]! * l * Q[j * n + m]!, 0);
  });
}

describe('symmetricEigen (cyclic Jacobi)', () => {
  it('gives the eigenvalues of the second-difference matrix, 2 − 2cos(kπ/(n+1))', () => {
    const n = 12;
    const A = Float64Array.from({ length: n * n }, (_, k) => {
      const [i, j] = [Math.floor(k / n), k % n];
      return i === j ? 2 : Math.abs(i - j) === 1 ? -1 : 0;
    });
    const { values, vectors } = symmetricEigen(A, n);
    const exact = Array.from(
      { length: n },
      (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)),
    );
    values.forEach((x, k) => expect(Math.abs(x - exact[k]!)).toBeLessThan(1e-13));
    // Eigenvectors sin(jkπ/(n+1)), up to sign: A v = λ v with unit v.
    for (let k = 0; k < n; k++) {
      const v = Array.from({ length: n }, (_, i) => vectors[i * n + k]!);
      expect(Math.hypot(...v)).toBeCloseTo(1, 13);
      for (let i = 0; i < n; i++) {
        const Av = v.reduce((s, x, j) => s + A[i * n + j]! * x, 0);
        expect(Math.abs(Av - values[k]! * v[i]!)).toBeLessThan(1e-13);
      }
    }
  });

  it('recovers prescribed eigenvalues spanning 12 orders of magnitude, and repeated ones', () => {
    const rng = new Rng(1);
    const n = 9;
    const Q = householder(rng.normalArray(n));
    const lambda = [1e-6, 1e-3, 0.5, 1, 1, 1, 7, 1e3, 1e6];
    const { values, vectors } = symmetricEigen(withEigenvalues(Q, lambda), n);
    values.forEach((x, k) => expect(Math.abs(x - lambda[k]!)).toBeLessThan(1e-15 * 1e6 * 10));
    // The eigenvector matrix is orthogonal.
    for (let a = 0; a < n; a++)
      for (let b = 0; b < n; b++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += vectors[i * n + a]! * vectors[i * n + b]!;
        expect(Math.abs(dot - (a === b ? 1 : 0))).toBeLessThan(1e-12);
      }
  });

  it('handles I + u uᵀ (eigenvalues 1, …, 1, 1 + ‖u‖²), 1 × 1 and diagonal input', () => {
    const u = [1, 2, -2, 0.5];
    const A = Float64Array.from({ length: 16 }, (_, k) => {
      const [i, j] = [Math.floor(k / 4), k % 4];
      return (i === j ? 1 : 0) + u[i]! * u[j]!;
    });
    const { values } = symmetricEigen(A, 4);
    expect(Array.from(values).map((x) => +x.toFixed(12))).toEqual([1, 1, 1, 10.25]);
    expect(Array.from(symmetricEigen([3], 1).values)).toEqual([3]);
    expect(Array.from(symmetricEigen([2, 0, 0, -1], 2).values)).toEqual([-1, 2]);
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(/4 entries/);
    expect(() => symmetricEigen([1, NaN, NaN, 1], 2)).toThrow(/non-finite/);
  });
});

describe('singularValues', () => {
  it('of U diag(σ) Vᵀ are σ, for wide and tall matrices, with the left vectors U', () => {
    const rng = new Rng(2);
    const [m, n] = [4, 7];
    const U = householder(rng.normalArray(m));
    const V = householder(rng.normalArray(n));
    const sigma = [5, 2, 0.3, 1e-3];
    // A = U [diag(σ) 0] Vᵀ, m × n.
    const A = Float64Array.from({ length: m * n }, (_, k) => {
      const [i, j] = [Math.floor(k / n), k % n];
      return sigma.reduce((s, x, r) => s + U[i * m + r]! * x * V[j * n + r]!, 0);
    });
    const At = Float64Array.from({ length: m * n }, (_, k) => A[(k % m) * n + Math.floor(k / m)]!);
    for (const [matrix, rows, cols] of [
      [A, m, n],
      [At, n, m],
    ] as const) {
      const pairs = singularPairs(matrix, rows, cols);
      // Through the Gram matrix σ_k carries an error of about ε σ_max² / σ_k: 5e-12 for σ = 1e-3.
      pairs.values.forEach((x, k) => expect(Math.abs(x - sigma[k]!)).toBeLessThan(3e-11));
      for (let k = 0; k < sigma.length; k++) {
        const u = pairs.left(k);
        expect(u.length).toBe(rows);
        // A Aᵀ u = σ² u.
        for (let i = 0; i < rows; i++) {
          let Au = 0;
          for (let j = 0; j < rows; j++) {
            let g = 0;
            for (let c = 0; c < cols; c++) g += matrix[i * cols + c]! * matrix[j * cols + c]!;
            Au += g * u[j]!;
          }
          expect(Math.abs(Au - sigma[k]! ** 2 * u[i]!)).toBeLessThan(1e-10);
        }
      }
    }
    expect(numericalRank(singularValues(A, m, n), 1e-2)).toBe(3);
    expect(numericalRank([0, 0], 1e-7)).toBe(0);
    expect(() => singularPairs([1, 0, 0, 0], 2, 2).left(1)).toThrow(/is 0/);
  });
});
