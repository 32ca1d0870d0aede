/**
 * Singular values behind the initial conditions: of each head's stacked inputs B_h (rank, σ_min
 * over its N·n rows, σ_max) and of each kernel matrix S_ih (σ_min and condition number).
 */
import {
  numericalRank,
  singularPairs,
  singularValues,
  type SingularPairs,
} from '../spectral/singular-values.js';
import { finite } from './config.js';

export interface HeadSpectrum {
  pairs: SingularPairs;
  /** pairs.values: σ_1 ≥ σ_2 ≥ …. */
  sv: SingularPairs['values'];
  rank: number;
  /** σ_min over the N·n rows: 0 when d < N·n. */
  sigmaMin: number;
  sigmaMax: number;
}

/** The singular pairs of each B_h ((N·n) × d), its numerical rank at `tolerance`, σ_min, σ_max. */
export function headSpectra(
  B: readonly Float64Array[],
  rows: number,
  d: number,
  tolerance: number,
): HeadSpectrum[] {
  return B.map((b) => {
    const pairs = singularPairs(b, rows, d);
    const sv = pairs.values;
    const rank = numericalRank(sv, tolerance);
    const sigmaMin = rows <= d ? sv[rows - 1]! : 0;
    return { pairs, sv, rank, sigmaMin, sigmaMax: sv[0]! };
  });
}

export interface KernelConditions {
  /** κ(S_ih) by sequence i (null where infinite). */
  conditionNumbers: Array<number | null>;
  sigmaMins: number[];
  /** The largest κ over the sequences (Infinity for a singular or NaN one). */
  worstConditionNumber: number;
}

/** Per head h, σ_min(S_ih) and κ(S_ih) of every sequence's n × n kernel matrix, S [N, H, n, n]. */
export function kernelConditions(
  S: Float64Array,
  N: number,
  H: number,
  n: number,
): KernelConditions[] {
  return Array.from({ length: H }, (_, h) => {
    const conditionNumbers: Array<number | null> = [];
    const sigmaMins: number[] = [];
    let worst = 0;
    for (let i = 0; i < N; i++) {
      const at = (i * H + h) * n * n;
      const sv = singularValues(S.subarray(at, at + n * n), n, n);
      const kappa = sv[0]! / sv[n - 1]!;
      conditionNumbers.push(finite(kappa));
      sigmaMins.push(sv[n - 1]!);
      worst = Math.max(worst, Number.isNaN(kappa) ? Infinity : kappa);
    }
    return { conditionNumbers, sigmaMins, worstConditionNumber: worst };
  });
}
