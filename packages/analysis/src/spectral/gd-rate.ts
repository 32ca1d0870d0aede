/**
 * The linear rate of full-batch gradient descent on a least-squares loss, from its spectrum.
 *
 * For L(W) = (1/(2N))‖A(W) − Y‖_F² with A linear (e.g. A(W) = B W), GD with step η moves the
 * residual R = A(W) − Y linearly: R_{t+1} = (I − (η/N) G) R_t, G = A A* ⪰ 0 (B Bᵀ for A = B·).
 * In G's eigenbasis each mode m (eigenvalue λ_m, initial squared component w_m) shrinks by the
 * factor |1 − ηλ_m/N| per step, so
 *
 *     L_t = L* + (1/(2N)) Σ_{λ_m > 0} w_m (1 − ηλ_m/N)^{2t},    L* = (1/(2N)) Σ_{λ_m = 0} w_m,
 *
 * L* being the part of the residual GD cannot reach (0 when G is nonsingular, e.g. B of full row
 * rank). Late in training the slowest mode dominates: L_t − L* ∝ ρ^{2t} with
 * ρ = max_m |1 − ηλ_m/N| (over λ_m > 0), a slope of 2 ln ρ for ln(L_t − L*) per step.
 * GD converges iff η < 2N/λ_max; ρ is smallest, (κ − 1)/(κ + 1) with κ = λ_max/λ_min⁺, at
 * η = 2N/(λ_max + λ_min⁺). For η ≤ N/λ_max, ρ = 1 − ηλ_min⁺/N, hence the bound
 * L_t − L* ≤ (1 − ηλ_min⁺/N)^{2t} (L_0 − L*) (the form of Song et al.'s linear rate, with the
 * 1/N of this normalisation).
 */
import { TdxError } from '@tdx/core';

/** One eigen-direction of the residual operator G and the residual's squared component on it. */
export interface GdMode {
  lambda: number;
  weight: number;
}

export interface LeastSquaresSpectrum {
  /** The modes with λ > 0. */
  modes: GdMode[];
  /** Σ w_m over the modes with λ = 0: what GD cannot remove (2N·L*). */
  unreachable: number;
  /** The N of the loss's 1/(2N). */
  N: number;
}

export interface GdRate {
  lr: number;
  /** ρ = max_m |1 − ηλ_m/N|: the residual's slowest factor per step. */
  rate: number;
  /** ρ²: the factor of L_t − L* per step, late in training. */
  lossFactor: number;
  /** 2 ln ρ: the slope of ln(L_t − L*) against the step (−Infinity when ρ = 0). */
  logLossSlope: number;
  /** η < 2N/λ_max. */
  stable: boolean;
  /** The eigenvalue of the slowest mode (λ_min⁺, or λ_max when η is near the limit). */
  slowestLambda: number;
}

function extremes(spectrum: LeastSquaresSpectrum): { min: number; max: number } {
  if (spectrum.modes.length === 0)
    throw new TdxError(
      'INVALID_ARGUMENT',
      'the least-squares operator is zero: gradient descent cannot move the residual',
    );
  let [min, max] = [Infinity, 0];
  for (const { lambda } of spectrum.modes) {
    min = Math.min(min, lambda);
    max = Math.max(max, lambda);
  }
  return { min, max };
}

/** ρ, ρ², 2 ln ρ and stability of GD at learning rate `lr`. */
export function gdRate(spectrum: LeastSquaresSpectrum, lr: number): GdRate {
  const { max } = extremes(spectrum);
  let rate = 0;
  let slowestLambda = 0;
  for (const { lambda } of spectrum.modes) {
    const factor = Math.abs(1 - (lr * lambda) / spectrum.N);
    if (factor > rate) [rate, slowestLambda] = [factor, lambda];
  }
  return {
    lr,
    rate,
    lossFactor: rate * rate,
    logLossSlope: 2 * Math.log(rate),
    stable: lr < (2 * spectrum.N) / max,
    slowestLambda,
  };
}

/** λ_min⁺, λ_max, the stability limit 2N/λ_max and the best rate, at 2N/(λ_max + λ_min⁺). */
export function gdLearningRates(spectrum: LeastSquaresSpectrum): {
  lambdaMin: number;
  lambdaMax: number;
  limit: number;
  optimal: number;
  rateAtOptimal: number;
} {
  const { min, max } = extremes(spectrum);
  return {
    lambdaMin: min,
    lambdaMax: max,
    limit: (2 * spectrum.N) / max,
    optimal: (2 * spectrum.N) / (max + min),
    rateAtOptimal: (max - min) / (max + min),
  };
}

/** L_t of GD at `lr` after `step` steps, from the modes (exact for a least-squares loss). */
export function predictedLoss(spectrum: LeastSquaresSpectrum, lr: number, step: number): number {
  let sum = spectrum.unreachable;
  for (const { lambda, weight } of spectrum.modes)
    sum += weight * (1 - (lr * lambda) / spectrum.N) ** (2 * step);
  return sum / (2 * spectrum.N);
}
