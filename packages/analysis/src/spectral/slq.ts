/**
 * Stochastic Lanczos quadrature (SLQ): the spectral density of a symmetric operator from a few
 * Lanczos runs. Each run from a random unit vector v gives Gauss quadrature nodes θ (Ritz values)
 * and weights w (squared first components), with Σ w θ^k = vᵀ H^k v for k < 2m; averaging
 * over probes estimates the eigenvalue distribution, which is then broadened by Gaussians onto
 * a grid.
 *
 * The public tools disagree on every setting (start vector, Lanczos steps, probes,
 * reorthogonalisation, broadening, grid, how batches combine): PyHessian (Yao et al. 2020,
 * arXiv:1912.07145; github.com/amirgholami/PyHessian), Zhang et al. (2024, arXiv:2402.16788;
 * github.com/zyushun/hessian-spectrum), pytorch-hessian-eigenthings
 * (github.com/noahgolmant/pytorch-hessian-eigenthings) and Ghorbani, Krishnan & Xiao (2019,
 * arXiv:1901.10159). So each setting is explicit here, with presets that match PyHessian,
 * Zhang et al. and hessian-eigenthings (SLQ_PRESETS below; packages/analysis/README.md lists
 * them).
 */
import { lanczos, type StartDistribution } from './lanczos.js';
import { tridiagonalEigen } from './tridiagonal-eigen.js';

/** How wide the Gaussian around each node is. */
export type Broadening =
  /** σ fixed (Zhang et al.: σ = √1e-5, meant for spectra normalised by an eigenvalue). */
  | { rule: 'fixed'; sigma: number }
  /** σ² = sigmaSquared · max(1, λmax − λmin) (PyHessian, Ghorbani et al.). */
  | { rule: 'range-scaled'; sigmaSquared: number }
  /** σ = (λmax − λmin) / steps (hessian-eigenthings). */
  | { rule: 'range-over-steps' };

export interface GridSettings {
  points: number;
  /** Room beyond the extreme nodes: absolute, or a fraction of the range. */
  padding: { kind: 'absolute' | 'relative'; value: number };
  /**
   * More points when needed so that a Gaussian of width σ spans at least this many of them
   * (capped at 200,000): an under-resolved density makes sums over the grid (normalisation,
   * Jensen–Shannon) depend on where the grid points fall. Off in the published presets.
   */
  minPointsPerSigma?: number;
}

export interface SlqSettings {
  probes: number;
  steps: number;
  start: StartDistribution;
  reorthogonalize: boolean;
  broadening: Broadening;
  grid: GridSettings;
}

export const SLQ_PRESETS: Record<'tdx' | 'pyhessian' | 'zhang2024' | 'eigenthings', SlqSettings> = {
  /** tdx's default: a few probes, full reorthogonalisation, a scale-aware width. */
  tdx: {
    probes: 8,
    steps: 64,
    start: 'gaussian',
    reorthogonalize: true,
    broadening: { rule: 'range-scaled', sigmaSquared: 1e-5 },
    grid: { points: 2000, padding: { kind: 'relative', value: 0.05 }, minPointsPerSigma: 4 },
  },
  /** PyHessian's density(iter=100, n_v=1) and density_generate(). */
  pyhessian: {
    probes: 1,
    steps: 100,
    start: 'rademacher',
    reorthogonalize: true,
    broadening: { rule: 'range-scaled', sigmaSquared: 1e-5 },
    grid: { points: 10000, padding: { kind: 'absolute', value: 0.01 } },
  },
  /** zyushun/hessian-spectrum as published: no reorthogonalisation, σ = √1e-5, ±1 padding. */
  zhang2024: {
    probes: 10,
    steps: 100,
    start: 'gaussian',
    reorthogonalize: false,
    broadening: { rule: 'fixed', sigma: Math.sqrt(1e-5) },
    grid: { points: 50000, padding: { kind: 'absolute', value: 1 } },
  },
  /** pytorch-hessian-eigenthings v1's spectral_density(). */
  eigenthings: {
    probes: 10,
    steps: 80,
    start: 'rademacher',
    reorthogonalize: true,
    broadening: { rule: 'range-over-steps' },
    grid: { points: 10000, padding: { kind: 'relative', value: 0.1 } },
  },
};

/** Quadrature of one probe: nodes (Ritz values) and weights summing to 1. */
export interface Quadrature {
  nodes: number[];
  weights: number[];
}

/** Nodes and weights of each probe's Lanczos run. */
export function slqQuadratures(
  apply: (v: Float64Array) => Float64Array,
  dimension: number,
  settings: Pick<SlqSettings, 'probes' | 'steps' | 'start' | 'reorthogonalize'>,
  seed = 0,
): Quadrature[] {
  return Array.from({ length: settings.probes }, (_, k) =>
    slqProbe(apply, dimension, settings, seed, k),
  );
}

/**
 * Probe k of slqQuadratures(…, seed): each probe's start vector depends only on (seed, k), so
 * probes can be computed apart (in other processes) and give the same quadratures.
 */
export function slqProbe(
  apply: (v: Float64Array) => Float64Array,
  dimension: number,
  settings: Pick<SlqSettings, 'steps' | 'start' | 'reorthogonalize'>,
  seed: number,
  k: number,
): Quadrature {
  const { alpha, beta } = lanczos(apply, dimension, {
    steps: settings.steps,
    reorthogonalize: settings.reorthogonalize,
    startDistribution: settings.start,
    seed: seed * 1009 + k,
  });
  const { values, firstComponents } = tridiagonalEigen(alpha, beta);
  return { nodes: Array.from(values), weights: Array.from(firstComponents, (z) => z * z) };
}

/**
 * The grid and the width for quadratures, following the settings: from the mean over probes of
 * the smallest node to the mean of the largest (as PyHessian and Zhang et al. do). With several
 * groups (blocks), the grid spans every group, so their densities can be compared on it.
 */
export function densityGrid(
  quadratures: readonly Quadrature[] | ReadonlyArray<readonly Quadrature[]>,
  settings: Pick<SlqSettings, 'broadening' | 'grid' | 'steps'>,
): { grid: Float64Array; sigma: number } {
  const groups = (Array.isArray(quadratures[0]) ? quadratures : [quadratures]) as ReadonlyArray<
    readonly Quadrature[]
  >;
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const lo = Math.min(...groups.map((g) => mean(g.map((q) => Math.min(...q.nodes)))));
  const hi = Math.max(...groups.map((g) => mean(g.map((q) => Math.max(...q.nodes)))));
  const range = hi - lo;
  const b = settings.broadening;
  const sigma =
    b.rule === 'fixed'
      ? b.sigma
      : b.rule === 'range-scaled'
        ? Math.sqrt(b.sigmaSquared * Math.max(1, range))
        : Math.max(range / settings.steps, 1e-12);
  const pad =
    settings.grid.padding.kind === 'absolute'
      ? settings.grid.padding.value
      : settings.grid.padding.value * Math.max(range, 1e-12);
  const span = hi - lo + 2 * pad;
  const resolved = settings.grid.minPointsPerSigma
    ? Math.ceil((settings.grid.minPointsPerSigma * span) / sigma) + 1
    : 0;
  const points = Math.min(Math.max(settings.grid.points, resolved), 200_000);
  const start = lo - pad;

  const step = (hi + pad - start) / (points - 1);
  return { grid: Float64Array.from({ length: points }, (_, i) => start + i * step), sigma };
}

/**
 * The density on a grid: (1/probes) Σ_probes Σ_j w_j N(t; θ_j, σ²), rescaled to integrate to 1
 * over the grid (as PyHessian and Zhang et al. do).
 */
export function densityOnGrid(
  quadratures: readonly Quadrature[],
  grid: Float64Array,
  sigma: number,
): Float64Array {
  const density = new Float64Array(grid.length);
  const norm = 1 / (quadratures.length * sigma * Math.sqrt(2 * Math.PI));
  for (const { nodes, weights } of quadratures) {
    for (let j = 0; j < nodes.length; j++) {
      const theta = nodes[j]!;
      const w = weights[j]! * norm;
      for (let i = 0; i < grid.length; i++) {
        const z = (grid[i]! - theta) / sigma;
        if (z > -40 && z < 40) density[i]! += w * Math.exp(-0.5 * z * z);
      }
    }
  }
  const dt = grid.length > 1 ? grid[1]! - grid[0]! : 1;
  const total = density.reduce((s, x) => s + x, 0) * dt;
  if (total > 0) for (let i = 0; i < density.length; i++) density[i]! /= total;
  return density;
}

export interface SpectralDensity {
  quadratures: Quadrature[];
  grid: Float64Array;
  density: Float64Array;
  sigma: number;
  settings: SlqSettings;
}

/** SLQ from start to end: quadratures, grid, broadened density. */
export function spectralDensity(
  apply: (v: Float64Array) => Float64Array,
  dimension: number,
  settings: SlqSettings,
  seed = 0,
): SpectralDensity {
  const quadratures = slqQuadratures(apply, dimension, settings, seed);
  const { grid, sigma } = densityGrid(quadratures, settings);
  return { quadratures, grid, density: densityOnGrid(quadratures, grid, sigma), sigma, settings };
}
