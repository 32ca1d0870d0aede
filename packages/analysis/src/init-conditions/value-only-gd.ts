/**
 * What W_V-only gradient descent does from the current parameters (see spectral/gd-rate.ts):
 * the eigenvalues of its residual operator with the weight of the residual on each mode, the
 * minimum reachable loss, the stability limit 2N/λ_max, the optimal rate, and at a given
 * learning rate the predicted factor ρ = max |1 − ηλ/N| per step.
 */
import { norm } from '@tdx/tensor';
import {
  gdLearningRates,
  gdRate,
  predictedLoss,
  type GdMode,
  type LeastSquaresSpectrum,
} from '../spectral/gd-rate.js';
import { numericalRank, singularPairs } from '../spectral/singular-values.js';
import {
  finite,
  FLOAT32_EPSILON,
  type InitConditionsConfig,
  type InitConditionsData,
  type ValueOnlyGdPrediction,
} from './config.js';
import type { HeadSpectrum } from './spectra.js';

export interface RateInputs {
  N: number;
  rows: number;
  out: number;
  width: number;
  v: number;
  H: number;
  tolerance: number;
  /** The residual F − Y, (N·n) × out. */
  R: Float64Array;
  WO: Float64Array | undefined;
  perHead: ReadonlyArray<Pick<HeadSpectrum, 'pairs' | 'rank'>>;
}

/** Without W_O, head h moves its own columns of R: R_h ← (I − (η/N) B_hB_hᵀ) R_h. */
export function headModes(inputs: RateInputs): GdMode[] {
  const { rows, out, v, R, perHead } = inputs;
  const modes: GdMode[] = [];
  perHead.forEach(({ pairs, rank }, h) => {
    for (let k = 0; k < rank; k++) {
      const u = pairs.left(k);
      let weight = 0;
      for (let c = h * v; c < (h + 1) * v; c++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += u[r]! * R[r * out + c]!;
        weight += s * s;
      }
      modes.push({ lambda: pairs.values[k]! ** 2, weight });
    }
  });
  return modes;
}

/**
 * With W_O (one head), R ← R − (η/N) BBᵀ R W_OᵀW_O: modes u_k w_jᵀ with eigenvalues λ_k μ_j,
 * w_j the right singular vectors of W_O (the left ones of W_Oᵀ, out × width).
 */
export function outputModes(
  inputs: RateInputs & { WO: Float64Array },
  config: InitConditionsConfig,
): GdMode[] {
  const { rows, out, width, R, WO, perHead } = inputs;
  const WOt = new Float64Array(out * width);
  for (let k = 0; k < width; k++)
    for (let c = 0; c < out; c++) WOt[c * width + k] = WO[k * out + c]!;
  const outputPairs = singularPairs(WOt, out, width);
  const outputRank = numericalRank(
    outputPairs.values,
    config.rankTolerance ?? Math.max(out, width) * FLOAT32_EPSILON,
  );
  const w = Array.from({ length: outputRank }, (_, j) => outputPairs.left(j));
  const { pairs, rank } = perHead[0]!;
  const modes: GdMode[] = [];
  for (let k = 0; k < rank; k++) {
    const u = pairs.left(k);
    const uR = new Float64Array(out);
    for (let r = 0; r < rows; r++) for (let c = 0; c < out; c++) uR[c]! += u[r]! * R[r * out + c]!;
    for (let j = 0; j < outputRank; j++) {
      let s = 0;
      for (let c = 0; c < out; c++) s += uR[c]! * w[j]![c]!;
      modes.push({ lambda: pairs.values[k]! ** 2 * outputPairs.values[j]! ** 2, weight: s * s });
    }
  }
  return modes;
}

/** The spectrum of W_V-only GD's residual operator, and what it predicts. */
export function valueOnlyRate(
  inputs: RateInputs,
  config: InitConditionsConfig,
): InitConditionsData['valueOnlyGd'] {
  const { N, H, WO } = inputs;
  if (WO && H > 1)
    return {
      reason:
        'not derived for several heads with W_O: the residual operator Σ_h B_hB_hᵀ · W_O,hᵀW_O,h does not factor',
    };
  const modes = WO ? outputModes({ ...inputs, WO }, config) : headModes(inputs);
  let reached = 0;
  for (const mode of modes) reached += mode.weight;
  const spectrum: LeastSquaresSpectrum = {
    modes,
    unreachable: Math.max(0, norm(inputs.R) ** 2 - reached),
    N,
  };
  if (modes.length === 0)
    return { reason: 'B (or W_O) is numerically zero: W_V-only GD cannot move the output' };
  return prediction(spectrum, inputs, config);
}

/** The limits of the spectrum, and with config.lr the rate there (and predicted losses). */
function prediction(
  spectrum: LeastSquaresSpectrum,
  inputs: RateInputs,
  config: InitConditionsConfig,
): ValueOnlyGdPrediction {
  const { N, H, WO, tolerance } = inputs;
  const limits = gdLearningRates(spectrum);
  const result: ValueOnlyGdPrediction = {
    operator: WO ? 'λ_k(BBᵀ)·μ_j(W_OᵀW_O)' : H > 1 ? 'B_hB_hᵀ per head' : 'BBᵀ',
    lambdaMin: limits.lambdaMin,
    lambdaMax: limits.lambdaMax,
    conditionNumber: limits.lambdaMax / limits.lambdaMin,
    modes: spectrum.modes.length,
    minimumLoss: spectrum.unreachable / (2 * N),
    lrLimit: limits.limit,
    lrOptimal: limits.optimal,
    rateAtOptimalLr: limits.rateAtOptimal,
    rankTolerance: tolerance,
    note: `per step, L_t − L* shrinks by ρ² with ρ = max |1 − ηλ/N| (N = ${N}); for η ≤ N/λ_max, ρ = 1 − ηλ_min/N and L_t − L* ≤ ρ^{2t}(L_0 − L*)`,
  };
  if (config.lr !== undefined) {
    const at = gdRate(spectrum, config.lr);
    Object.assign(result, {
      lr: at.lr,
      stable: at.stable,
      rate: at.rate,
      lossFactor: at.lossFactor,
      logLossSlope: finite(at.logLossSlope),
      slowestLambda: at.slowestLambda,
    });
    if (config.predictAt)
      result.predictedLoss = Object.fromEntries(
        config.predictAt.map((t) => [t, predictedLoss(spectrum, config.lr!, t)]),
      );
  }
  return result;
}
