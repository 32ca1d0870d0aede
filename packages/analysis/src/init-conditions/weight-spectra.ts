/**
 * The singular values of the attention weights W_Q, W_K, W_V (and W_O), and the ratios of W_Q's
 * and W_K's extreme singular values to W_V's. Song et al. (NeurIPS 2024) state their initial
 * conditions as bounds between the eigenvalues of these matrices; their exact inequalities are
 * not transcribed here (the paper's text was not reachable), so this reports the quantities such
 * bounds are made of, and no pass/fail check.
 */
import { singularValues } from '../spectral/singular-values.js';
import { finite } from './config.js';

/** One weight matrix, row-major float64. */
export interface WeightMatrix {
  name: string;
  role: string;
  rows: number;
  cols: number;
  values: ArrayLike<number>;
}

export interface WeightSpectrum {
  role: string;
  shape: [number, number];
  /** The min(rows, cols) singular values, descending. */
  singularValues: number[];
  sigmaMin: number;
  sigmaMax: number;
  /** σ_max/σ_min; null when σ_min is 0. */
  conditionNumber: number | null;
}

/**
 * The extremes of W_Q and W_K against those of W_V: σ_min(W)/σ_max(W_V) (W's smallest gain
 * against W_V's largest) and σ_max(W)/σ_min(W_V). Null where a denominator is 0.
 */
export type WeightRatios = Record<string, number | null>;

/** The roles whose spectra are reported, in this order. */
export const ATTENTION_ROLES = ['query', 'key', 'value', 'output'] as const;

export function weightSpectrum(w: WeightMatrix): WeightSpectrum {
  const sv = Array.from(singularValues(w.values, w.rows, w.cols));
  const sigmaMax = sv[0] ?? 0;
  const sigmaMin = sv[sv.length - 1] ?? 0;
  return {
    role: w.role,
    shape: [w.rows, w.cols],
    singularValues: sv,
    sigmaMin,
    sigmaMax,
    conditionNumber: finite(sigmaMax / sigmaMin),
  };
}

/** The spectra by block name, and the ratios by `<query|key>Min/valueMax`, `…Max/valueMin`. */
export function weightSpectra(weights: readonly WeightMatrix[]): {
  spectra: Record<string, WeightSpectrum>;
  ratios: WeightRatios;
} {
  const spectra: Record<string, WeightSpectrum> = {};
  for (const w of weights) spectra[w.name] = weightSpectrum(w);
  const ratios: WeightRatios = {};
  // With several value blocks (one per layer) the ratios would mix layers: report none.
  const values = Object.values(spectra).filter((s) => s.role === 'value');
  if (values.length !== 1) return { spectra, ratios };
  const value = values[0]!;
  for (const role of ['query', 'key'] as const) {
    const blocks = Object.values(spectra).filter((s) => s.role === role);
    if (blocks.length !== 1) continue;
    const w = blocks[0]!;
    ratios[`${role}Min/valueMax`] = finite(w.sigmaMin / value.sigmaMax);
    ratios[`${role}Max/valueMin`] = finite(w.sigmaMax / value.sigmaMin);
  }
  return { spectra, ratios };
}
