/**
 * `init-conditions`: the initial conditions of Song et al. (NeurIPS 2024) for one attention
 * layer F(X_i) = S_i X_i W_V [W_O], S_i = S(X_i W_Q, X_i W_K), at the current parameters (run it
 * `at: [0]`). With W_V the only trained matrix the loss L = (1/(2N)) Σ_i ‖F(X_i) − Y_i‖_F² is
 * least squares in W_V: stacking the kernel-weighted inputs B = [S_1X_1; …; S_NX_N] ((N·n) × d),
 * L = (1/(2N))‖B W_V − Y‖_F² (one head, no W_O). Reported, in float64 on the host:
 *
 * - B's singular values, numerical rank, σ_min (of its N·n rows: 0 when d < N·n), σ_max and
 *   condition number, λ_min(BBᵀ) = σ_min² (the headline value); per head with several heads;
 * - each S_i's smallest singular value and condition number;
 * - pass/fail checks: `embeddingLargeEnough` (d ≥ N·n), `fullRank` (rank B = N·n),
 *   `kernelWellConditioned` (every κ(S_i) ≤ kernelConditionLimit), and, when their thresholds
 *   are given, `sigmaMinLargeVsLoss` (σ_min²/L ≥ minSigmaSquaredOverLoss) and
 *   `sigmaMinLargeVsWeights` (σ_min/‖W‖_F ≥ minSigmaOverWeightNorm for every block). The
 *   paper's own threshold values (the initial conditions of its convergence theorems) are not
 *   transcribed here, so every threshold is a config value and the ratios are always reported;
 * - the singular values of W_Q, W_K, W_V (and W_O) and the ratios σ_min(W_Q)/σ_max(W_V),
 *   σ_max(W_Q)/σ_min(W_V) (the same for W_K): what the paper's eigenvalue conditions on the
 *   initial W_Q, W_K against W_V are made of. Its inequalities themselves are not transcribed
 *   (the paper's text was not reachable), so these are reported without a check;
 * - W_V-only gradient descent (see spectral/gd-rate.ts): the eigenvalues of the residual
 *   operator (B_hB_hᵀ per head; λ_k(BBᵀ)·μ_j(W_OᵀW_O) with W_O and one head), the minimum
 *   reachable loss, the stability limit 2N/λ_max, the optimal rate, and at `lr` the predicted
 *   factor ρ = max |1 − ηλ/N| per step, i.e. ln(L_t − L*) falling by 2 ln ρ per step.
 *
 * Numerical rank: singular values above rankTolerance · σ_max, with rankTolerance by default
 * max(N·n, d) · 2⁻²³, NumPy's matrix_rank rule at float32 precision: S and X come from float32
 * tensors, so anything smaller is rounding.
 *
 * The model must expose its kernel matrices: `kernelMatrices(values, inputs)` ([N, H, n, n]) and
 * `valuePath` ({ heads, value, output? }), as one-layer-attention does. The loss it reports is
 * checked against (1/(2N))‖F − Y‖² computed here from B and the weights.
 *
 * The parts live in ../init-conditions/: config.ts (config, model contract, record), layer.ts
 * (the layer read onto the host), least-squares.ts (B, the residual and the loss),
 * spectra.ts (singular values of B_h and S_ih), weight-spectra.ts, checks.ts and
 * value-only-gd.ts.
 */
import { definePlugin, type AnalysisInstance } from '@tdx/core';
import { initConditionsConfig } from '../init-conditions/config.js';
import { initConditions } from '../init-conditions/evaluate.js';

export {
  initConditionsConfig,
  type InitConditionsConfig,
  type InitConditionsData,
  type KernelMatrixModel,
  type ValueOnlyGdPrediction,
} from '../init-conditions/config.js';
export { initConditions } from '../init-conditions/evaluate.js';

export const initConditionsPlugin = definePlugin({
  kind: 'analysis',
  name: 'init-conditions',
  title: 'initial conditions λ_min(BBᵀ)',
  description:
    "Song et al.'s initial conditions for one attention layer: rank, singular values and condition of B = [S_iX_i], κ(S_i), d ≥ N·n, and the linear rate of W_V-only gradient descent",
  config: initConditionsConfig,
  create: (config): AnalysisInstance => ({
    run: (target) => initConditions(target, config),
  }),
});
