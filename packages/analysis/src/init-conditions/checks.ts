/**
 * The pass/fail checks of the initial conditions (Song et al. 2024), their ratios, thresholds
 * and the notes that explain a failed one. Every threshold is a config value.
 */
import { finite, type InitConditionsConfig, type InitConditionsData } from './config.js';
import type { HeadSpectrum, KernelConditions } from './spectra.js';

export interface CheckInputs {
  d: number;
  rows: number;
  /** (1/(2N))‖F − Y‖² at the current parameters. */
  loss: number;
  /** σ_min of B, the smallest over heads. */
  sigmaMin: number;
  /** ‖W‖_F by block name. */
  weightNorms: Record<string, number>;
  perHead: ReadonlyArray<Pick<HeadSpectrum, 'rank'>>;
  kernels: ReadonlyArray<Pick<KernelConditions, 'worstConditionNumber'>>;
}

/** The checks and the ratios behind them. */
export function conditionChecks(
  input: CheckInputs,
  config: InitConditionsConfig,
): Pick<InitConditionsData, 'checks' | 'ratios'> {
  const { d, rows, loss, sigmaMin, weightNorms, perHead, kernels } = input;
  const sigmaMinOverWeightNorm = Object.fromEntries(
    Object.entries(weightNorms).map(([name, norm]) => [name, finite(sigmaMin / norm)]),
  );
  const sigmaMinSquaredOverLoss = sigmaMin ** 2 / loss;
  const checks: Record<string, boolean> = {
    embeddingLargeEnough: d >= rows,
    fullRank: perHead.every((p) => p.rank === rows),
    kernelWellConditioned: kernels.every(
      (k) => k.worstConditionNumber <= config.kernelConditionLimit,
    ),
  };
  if (config.minSigmaSquaredOverLoss !== undefined)
    checks.sigmaMinLargeVsLoss = sigmaMinSquaredOverLoss >= config.minSigmaSquaredOverLoss;
  if (config.minSigmaOverWeightNorm !== undefined)
    checks.sigmaMinLargeVsWeights = Object.values(weightNorms).every(
      (norm) => sigmaMin / norm >= config.minSigmaOverWeightNorm!,
    );
  return { checks, ratios: { sigmaMinSquaredOverLoss, sigmaMinOverWeightNorm } };
}

/** The thresholds the checks used: the rank tolerance and those of the config. */
export function conditionThresholds(
  rankTolerance: number,
  config: InitConditionsConfig,
): Record<string, number> {
  return {
    rankTolerance,
    kernelConditionLimit: config.kernelConditionLimit,
    ...(config.minSigmaSquaredOverLoss === undefined
      ? {}
      : { minSigmaSquaredOverLoss: config.minSigmaSquaredOverLoss }),
    ...(config.minSigmaOverWeightNorm === undefined
      ? {}
      : { minSigmaOverWeightNorm: config.minSigmaOverWeightNorm }),
  };
}

/** What the record's reader should know: where the thresholds come from, and why a check fails. */
export function conditionNotes(input: {
  d: number;
  rows: number;
  checks: Record<string, boolean>;
  /** The trainable blocks, and the value block's name. */
  trainable: readonly string[];
  valueName: string;
}): string[] {
  const { d, rows, checks, trainable, valueName } = input;
  const notes: string[] = [
    "Song et al.'s threshold values (NeurIPS 2024, the initial conditions of their convergence theorems) are not transcribed: the checks use this analysis's configurable thresholds.",
  ];
  if (!checks.embeddingLargeEnough)
    notes.push(
      `d = ${d} < N·n = ${rows}: B cannot have full row rank, and W_V-only GD converges to minimumLoss (> 0 for generic targets), not to 0.`,
    );
  if (trainable.some((name) => name !== valueName))
    notes.push(
      `blocks other than ${valueName} train too (${trainable.join(', ')}): the predicted rate is that of W_V-only GD from these parameters.`,
    );
  return notes;
}
