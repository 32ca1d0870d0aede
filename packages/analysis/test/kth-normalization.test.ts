/**
 * Spectra normalised by their k-th largest eigenvalue (Zhang et al. 2024's figures), against
 * exact eigendecompositions (ml-matrix) of matrices with known spectra.
 */
import { EigenvalueDecomposition, Matrix, QrDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { createRegistry, type AnalysisInstance } from '@tdx/core';
import { Rng, useBackend } from '@tdx/tensor';
import { kthLargestRitzValue, normalizeByKth, register, slqQuadratures } from '../src/index.js';
import { twoBlockQuadratic } from './two-block-quadratic.js';

/** Q diag(λ) Qᵀ with a random orthogonal Q, and its eigenvalues as ml-matrix finds them. */
function known(eigenvalues: number[], seed: number) {
  const n = eigenvalues.length;
  const rng = new Rng(seed);
  const Q = new QrDecomposition(
    new Matrix(Array.from({ length: n }, () => Array.from(rng.normalArray(n)))),
  ).orthogonalMatrix;
  const A = Q.mmul(Matrix.diag(eigenvalues)).mmul(Q.transpose());
  const exact = [...new EigenvalueDecomposition(A, { assumeSymmetric: true }).realEigenvalues].sort(
    (a, b) => b - a,
  );
  const apply = (v: Float64Array) =>
    Float64Array.from(A.mmul(Matrix.columnVector(Array.from(v))).getColumn(0));
  return { apply, exact };
}

const spread = (n: number, rng: Rng) => [
  ...Array.from(rng.uniformArray(n - 12, -0.5, 1)),
  ...Array.from({ length: 12 }, (_, i) => 3 + 2 * i),
];

describe('kth-largest normalisation', () => {
  it('takes λ_k exactly from a Lanczos run as long as the dimension, and from below when shorter', () => {
    const n = 40;
    const { apply, exact } = known(spread(n, new Rng(1)), 2);
    const settings = { probes: 3, start: 'gaussian' as const, reorthogonalize: true };
    const full = slqQuadratures(apply, n, { ...settings, steps: n }, 5);
    for (const k of [1, 3, 10]) expect(kthLargestRitzValue(full, k)).toBeCloseTo(exact[k - 1]!, 8);
    // Cauchy interlacing: each probe's k-th largest Ritz value lies at or below λ_k; the
    // isolated top eigenvalues converge in fewer steps than the dimension.
    const short = slqQuadratures(apply, n, { ...settings, steps: 20 }, 5);
    for (const k of [1, 5, 10]) {
      const estimate = kthLargestRitzValue(short, k);
      expect(estimate).toBeLessThanOrEqual(exact[k - 1]! + 1e-9);
      expect(estimate).toBeGreaterThan(0.9 * exact[k - 1]!);
    }
  });

  it('divides every node by λ_k and keeps the weights', () => {
    const n = 30;
    const { apply, exact } = known(spread(n, new Rng(3)), 4);
    const q = slqQuadratures(
      apply,
      n,
      { probes: 2, steps: n, start: 'gaussian', reorthogonalize: true },
      1,
    );
    const { quadratures, normalization } = normalizeByKth(q, 10);
    expect(normalization.kth).toBe(10);
    expect(normalization.by).toBeCloseTo(exact[9]!, 8);
    const nodes = [...quadratures[0]!.nodes].sort((a, b) => b - a);
    nodes.forEach((x, i) => expect(x).toBeCloseTo(exact[i]! / exact[9]!, 7));
    expect(quadratures[1]!.weights).toEqual(q[1]!.weights);
  });

  it('refuses a k beyond the Ritz values and a λ_k that is not positive', () => {
    const q = [{ nodes: [-3, -1, 2], weights: [0.2, 0.3, 0.5] }];
    expect(() => normalizeByKth(q, 4, 'layers.0.attn.query')).toThrow(
      /layers\.0\.attn\.query: normalize\.kth is 4 but probe 0 has only 3 Ritz values/,
    );
    expect(() => normalizeByKth(q, 2, 'b')).toThrow(
      /b: its 2th largest eigenvalue is -1, not positive/,
    );
    expect(() => normalizeByKth(q, 0)).toThrow(/positive integer/);
  });

  it('puts blocks of one shape and different scales on one axis: JS near 0 normalised, near ln 2 not', async () => {
    await useBackend('cpu');
    const rng = new Rng(7);
    const shape = spread(30, rng);
    const twoScales = twoBlockQuadratic(
      shape,
      shape.map((x) => 100 * x),
    );
    const registry = register(createRegistry());
    const js = (extra: Record<string, unknown>) =>
      registry
        .create<AnalysisInstance>('analysis', {
          name: 'block-heterogeneity',
          probes: 6,
          steps: 30,
          exclude: [],
          ...extra,
        })
        .run(twoScales.target, { step: 0, seed: 2 });
    const raw = await js({});
    const normalised = await js({ normalize: { kth: 10 } });
    expect(raw.value!).toBeGreaterThan(0.6);
    // Not 0: each block has its own probes, so its SLQ weights differ (6 probes each).
    expect(normalised.value!).toBeLessThan(0.05);
    const exact10 = [...shape].sort((a, b) => b - a)[9]!;
    const blocks = normalised.data!.blocks as Array<{ normalization: { by: number } }>;
    expect(blocks[0]!.normalization.by).toBeCloseTo(exact10, 5);
    expect(blocks[1]!.normalization.by).toBeCloseTo(100 * exact10, 3);
    expect(normalised.data!.normalize).toEqual({ kth: 10 });

    // hessian-spectrum: the same option; each block's density lies on the normalised axis.
    const spectrum = await registry
      .create<AnalysisInstance>('analysis', {
        name: 'hessian-spectrum',
        scope: 'both',
        probes: 4,
        steps: 30,
        exclude: [],
        normalize: { kth: 10 },
      })
      .run(twoScales.target, { step: 0, seed: 2 });
    const spectra = spectrum.data!.spectra as Array<{
      name: string;
      quadratures: Array<{ nodes: number[] }>;
      normalization: { by: number };
      grid: { start: number; step: number; points: number };
    }>;
    expect(spectra.map((s) => s.name)).toEqual(['H', 'a', 'b']);
    // The full Hessian holds both blocks: its 10th largest eigenvalue is block b's 10th.
    expect(spectra[0]!.normalization.by).toBeCloseTo(100 * exact10, 2);
    for (const s of spectra.slice(1)) {
      const top = Math.max(...s.quadratures[0]!.nodes) / s.normalization.by;
      const end = s.grid.start + (s.grid.points - 1) * s.grid.step;
      expect(top).toBeCloseTo(shape.reduce((a, b) => Math.max(a, b)) / exact10, 5);
      expect(end).toBeGreaterThan(top);
      expect(end).toBeLessThan(2 * top);
    }
    // The headline stays the largest Ritz value as measured.
    expect(spectrum.value!).toBeCloseTo(100 * Math.max(...shape), 1);
    twoScales.dispose();
  });
});
