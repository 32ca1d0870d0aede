/**
 * Lanczos, the tridiagonal eigensolver, SLQ, JS and Hutchinson on explicit matrices whose
 * spectra are known, against ml-matrix's eigendecomposition as the independent reference.
 */
import { EigenvalueDecomposition, Matrix, QrDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Rng } from '@tdx/tensor';
import {
  densityOnGrid,
  hutchinsonTrace,
  jensenShannon,
  jensenShannonMatrix,
  lanczos,
  SLQ_PRESETS,
  slqQuadratures,
  spectralDensity,
  topEigenvalues,
  tridiagonalEigen,
} from '../src/index.js';

/** Q diag(λ) Qᵀ with a random orthogonal Q. */
function withSpectrum(eigenvalues: number[], seed: number): Matrix {
  const n = eigenvalues.length;
  const rng = new Rng(seed);
  const Q = new QrDecomposition(
    new Matrix(Array.from({ length: n }, () => Array.from(rng.normalArray(n)))),
  ).orthogonalMatrix;
  return Q.mmul(Matrix.diag(eigenvalues)).mmul(Q.transpose());
}
const apply = (A: Matrix) => (v: Float64Array) =>
  Float64Array.from(A.mmul(Matrix.columnVector(Array.from(v))).getColumn(0));
/** A bulk in [0, 1] and a few outliers: the shape of a neural network's Hessian spectrum. */
const bulkAndOutliers = (n: number, rng: Rng) => [
  ...Array.from(rng.uniformArray(n - 3)),
  10,
  40,
  160,
];

describe('tridiagonalEigen', () => {
  it('matches a full eigendecomposition, values and first components', () => {
    const rng = new Rng(1);
    for (const n of [1, 2, 7, 60]) {
      const d = Array.from(rng.normalArray(n));
      const e = Array.from(rng.normalArray(n - 1));
      const T = Matrix.zeros(n, n);
      d.forEach((x, i) => T.set(i, i, x));
      e.forEach((x, i) => (T.set(i, i + 1, x), T.set(i + 1, i, x)));
      const reference = new EigenvalueDecomposition(T, { assumeSymmetric: true });
      const ours = tridiagonalEigen(d, e);
      ours.values.forEach((v, i) =>
        expect(Math.abs(v - reference.realEigenvalues[i]!)).toBeLessThan(
          1e-12 * Math.max(1, Math.abs(v)),
        ),
      );
      const firstRow = reference.eigenvectorMatrix.getRow(0);
      ours.firstComponents.forEach((z, i) =>
        expect(Math.abs(z * z - firstRow[i]! ** 2)).toBeLessThan(1e-12),
      );
      expect(ours.firstComponents.reduce((s, z) => s + z * z, 0)).toBeCloseTo(1, 12);
    }
  });

  it('handles zero off-diagonals and refuses NaN instead of looping forever', () => {
    expect(Array.from(tridiagonalEigen([3, 1, 2], [0, 0]).values)).toEqual([1, 2, 3]);
    expect(() => tridiagonalEigen([1, Number.NaN], [1])).toThrow(/non-finite/);
  });
});

describe('lanczos', () => {
  const rng = new Rng(2);
  const n = 300;
  const eigenvalues = bulkAndOutliers(n, rng);
  const A = withSpectrum(eigenvalues, 3);

  it('gives a quadrature whose moments are vᵀAᵏv for k < 2m, to near machine precision', () => {
    const v = rng.normalArray(n);
    const m = 12;
    const { alpha, beta } = lanczos(apply(A), n, { steps: m, start: v });
    const { values, firstComponents } = tridiagonalEigen(alpha, beta);
    const unit = v.map((x) => x / Math.hypot(...v));
    let power = Float64Array.from(unit);
    for (let k = 0; k < 2 * m; k++) {
      const exact = unit.reduce((s, x, i) => s + x * power[i]!, 0);
      const quadrature = Array.from(values).reduce(
        (s, theta, j) => s + firstComponents[j]! ** 2 * theta ** k,
        0,
      );
      expect(Math.abs(quadrature - exact)).toBeLessThan(1e-10 * Math.max(1, Math.abs(exact)));
      power = apply(A)(power);
    }
  });

  it('finds the extreme eigenvalues, once each, with reorthogonalisation', () => {
    const run = lanczos(apply(A), n, { steps: 100, seed: 4 });
    const { values } = tridiagonalEigen(run.alpha, run.beta);
    const top = Array.from(values).slice(-3);
    [10, 40, 160].forEach((lambda, i) => expect(top[i]).toBeCloseTo(lambda, 8));
    expect(Array.from(values).filter((x) => Math.abs(x - 160) < 1e-3)).toHaveLength(1);
    // Without it, the same run grows spurious copies ("ghosts") of the largest eigenvalue.
    const plain = lanczos(apply(A), n, { steps: 100, seed: 4, reorthogonalize: false });
    const ghosts = Array.from(tridiagonalEigen(plain.alpha, plain.beta).values).filter(
      (x) => Math.abs(x - 160) < 1e-3,
    );
    expect(ghosts.length).toBeGreaterThan(1);
  });

  it('stops at an invariant subspace instead of dividing by zero', () => {
    const run = lanczos(apply(withSpectrum([1, 1, 1, 2, 2, 2], 5)), 6, { steps: 6, seed: 1 });
    expect(run.steps).toBe(2);
    expect(
      Array.from(tridiagonalEigen(run.alpha, run.beta).values).map((x) => +x.toFixed(10)),
    ).toEqual([1, 2]);
  });
});

describe('topEigenvalues and hutchinsonTrace', () => {
  it('give the known top eigenvalues and the trace', () => {
    const rng = new Rng(6);
    const eigenvalues = bulkAndOutliers(200, rng);
    const A = withSpectrum(eigenvalues, 7);
    expect(topEigenvalues(apply(A), 200, { k: 3 }).values.map((x) => +x.toFixed(6))).toEqual([
      160, 40, 10,
    ]);
    const magnitude = topEigenvalues(apply(withSpectrum([-9, 3, 2, 1], 8)), 4, {
      k: 1,
      which: 'magnitude',
    });
    expect(magnitude.values[0]).toBeCloseTo(-9, 10);
    // On a diagonal matrix every Rademacher probe gives the trace exactly.
    const D = Matrix.diag([1, 2, 3, 4]);
    expect(hutchinsonTrace(apply(D), 4, 3).samples.map((x) => +x.toFixed(12))).toEqual([
      10, 10, 10,
    ]);
    const trace = eigenvalues.reduce((s, x) => s + x, 0);
    const estimate = hutchinsonTrace(apply(A), 200, 400, 1);
    expect(Math.abs(estimate.trace - trace)).toBeLessThan(4 * estimate.standardError);
  });
});

describe('SLQ', () => {
  it('matches the exact spectral distribution of a matrix with a known spectrum', () => {
    const rng = new Rng(9);
    const n = 200;
    const eigenvalues = [
      ...Array.from(rng.uniformArray(150, -1, 1)),
      ...Array.from(rng.uniformArray(50, 4, 6)),
    ];
    const A = withSpectrum(eigenvalues, 10);
    const quadratures = slqQuadratures(
      apply(A),
      n,
      { probes: 30, steps: 40, start: 'rademacher', reorthogonalize: true },
      3,
    );
    // CDFs at a few points: the SLQ measure against the exact fraction of eigenvalues.
    for (const t of [-0.5, 0, 0.5, 2, 5]) {
      const exact = eigenvalues.filter((x) => x <= t).length / n;
      const slq =
        quadratures.reduce(
          (s, q) => s + q.nodes.reduce((a, theta, j) => a + (theta <= t ? q.weights[j]! : 0), 0),
          0,
        ) / quadratures.length;
      expect(Math.abs(slq - exact)).toBeLessThan(0.06);
    }
  });

  it('follows each preset: grid, width, normalisation', () => {
    const A = withSpectrum([1, 2, 3, 4, 50], 11);
    for (const [name, preset] of Object.entries(SLQ_PRESETS)) {
      const result = spectralDensity(apply(A), 5, { ...preset, probes: 2 }, 1);
      const dt = result.grid[1]! - result.grid[0]!;
      if (preset.grid.minPointsPerSigma) {
        // tdx refines its grid until a Gaussian spans enough points.
        expect(result.grid.length, name).toBeGreaterThanOrEqual(preset.grid.points);
        expect(result.sigma / dt, name).toBeGreaterThanOrEqual(
          preset.grid.minPointsPerSigma - 1e-9,
        );
      } else expect(result.grid.length, name).toBe(preset.grid.points);

      expect(result.density.reduce((s, x) => s + x, 0) * dt, name).toBeCloseTo(1, 10);
      expect(result.quadratures).toHaveLength(2);
    }
    const zhang = spectralDensity(apply(A), 5, { ...SLQ_PRESETS.zhang2024, probes: 1 }, 1);
    expect(zhang.sigma).toBeCloseTo(Math.sqrt(1e-5), 15);
    expect(zhang.grid[0]).toBeCloseTo(Math.min(...zhang.quadratures[0]!.nodes) - 1, 8);
    const pyhessian = spectralDensity(apply(A), 5, SLQ_PRESETS.pyhessian, 1);
    expect(pyhessian.sigma).toBeCloseTo(Math.sqrt(1e-5 * 49), 6);
  });
});

describe('Jensen–Shannon', () => {
  const grid = (points: number) =>
    Float64Array.from({ length: points }, (_, i) => -5 + (10 * i) / (points - 1));
  const mixture = (nodes: number[], g: Float64Array) =>
    densityOnGrid([{ nodes, weights: nodes.map(() => 1 / nodes.length) }], g, 0.4);

  it('is zero for identical spectra, symmetric, and ln 2 for disjoint supports', () => {
    const g = grid(2001);
    const p = mixture([-1, 0.5], g);
    const q = mixture([1, 2], g);
    expect(jensenShannon(p, p)).toBe(0);
    expect(jensenShannon(p, q)).toBeCloseTo(jensenShannon(q, p), 14);
    const left = densityOnGrid([{ nodes: [-3], weights: [1] }], g, 0.1);
    const right = densityOnGrid([{ nodes: [3], weights: [1] }], g, 0.1);
    expect(jensenShannon(left, right)).toBeCloseTo(Math.LN2, 10);
  });

  it('does not change when the grid is refined (probability mode), unlike the raw-density mode', () => {
    const coarse = grid(1001);
    const fine = grid(8001);
    const a = jensenShannon(mixture([-1, 0.5], coarse), mixture([0, 1.5], coarse));
    const b = jensenShannon(mixture([-1, 0.5], fine), mixture([0, 1.5], fine));
    expect(Math.abs(a - b)).toBeLessThan(1e-6);
    const rawA = jensenShannon(
      mixture([-1, 0.5], coarse),
      mixture([0, 1.5], coarse),
      'raw-density',
    );
    const rawB = jensenShannon(mixture([-1, 0.5], fine), mixture([0, 1.5], fine), 'raw-density');
    expect(rawB / rawA).toBeCloseTo(8, 1); // scales with 1/Δt
  });

  it('gives JS⁰, the mean over pairs', () => {
    const g = grid(501);
    const densities = [mixture([0], g), mixture([1], g), mixture([-2], g)];
    const { matrix, mean } = jensenShannonMatrix(densities);
    expect(matrix[0]![0]).toBe(0);
    expect(mean).toBeCloseTo((matrix[0]![1]! + matrix[0]![2]! + matrix[1]![2]!) / 3, 14);
  });
});
