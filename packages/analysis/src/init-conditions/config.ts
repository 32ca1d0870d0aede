/** The init-conditions analysis's config, what it needs of a model, and its record. */
import { z } from '@tdx/core';
import type { ParamValues, Tensor } from '@tdx/tensor';
import type { WeightRatios, WeightSpectrum } from './weight-spectra.js';

/** What init-conditions needs of a model (one-layer-attention has it). */
export interface KernelMatrixModel {
  /** S_ih for each sequence i and head h, [N, heads, n, n]. */
  kernelMatrices(values: ParamValues, inputs: Tensor): Tensor;
  readonly valuePath: {
    heads: number;
    /** The value block [d, heads·v]; head h owns columns [h·v, (h+1)·v). */
    value: string;
    /** The output block [heads·v, out], if any. */
    output?: string;
  };
}

export const initConditionsConfig = z
  .object({
    batch: z
      .enum(['training', 'analysis'])
      .default('training')
      .describe(
        '`training`: the training batch of the current step, which for full-batch data (token-regression) is the whole training set, the set GD fits; `analysis`: the analysis batch (a held-out set when the dataset has one).',
      ),
    lr: z
      .number()
      .positive()
      .optional()
      .describe('The learning rate η of W_V-only GD whose rate to predict; absent: limits only.'),
    rankTolerance: z
      .number()
      .positive()
      .lt(1)
      .optional()
      .describe('Relative tolerance of the numerical rank; default max(N·n, d) · 2⁻²³.'),
    kernelConditionLimit: z
      .number()
      .gt(1)
      .default(100)
      .describe('kernelWellConditioned holds when every κ(S_i) is at most this.'),
    minSigmaSquaredOverLoss: z
      .number()
      .positive()
      .optional()
      .describe(
        'sigmaMinLargeVsLoss holds when σ_min(B)² / L is at least this; absent: not checked.',
      ),
    minSigmaOverWeightNorm: z
      .number()
      .positive()
      .optional()
      .describe(
        'sigmaMinLargeVsWeights holds when σ_min(B) / ‖W‖_F is at least this for every block.',
      ),
    predictAt: z
      .array(z.number().int().nonnegative())
      .optional()
      .describe('Steps at which to report the predicted W_V-only GD loss (needs lr).'),
    maxGramSize: z
      .number()
      .int()
      .positive()
      .default(400)
      .describe(
        'The largest Gram matrix (min(N·n, d)) to decompose; Jacobi costs ~30·size³ flops.',
      ),
  })
  .refine((c) => c.predictAt === undefined || c.lr !== undefined, {
    message: 'predictAt needs lr (the learning rate of the prediction)',
    path: ['predictAt'],
  });

export type InitConditionsConfig = z.output<typeof initConditionsConfig>;

/** What W_V-only gradient descent does from here (see spectral/gd-rate.ts). */
export type ValueOnlyGdPrediction = {
  /** The residual operator whose eigenvalues set the rate. */
  operator: string;
  /** Its smallest nonzero and largest eigenvalues, and their ratio. */
  lambdaMin: number;
  lambdaMax: number;
  conditionNumber: number;
  modes: number;
  /** L*: the loss W_V-only GD converges to (0 when B has full row rank). */
  minimumLoss: number;
  /** 2N/λ_max: GD diverges at or above it. */
  lrLimit: number;
  /** 2N/(λ_max + λ_min), where ρ is smallest, and that ρ. */
  lrOptimal: number;
  rateAtOptimalLr: number;
  rankTolerance: number;
  note: string;
  /** With config.lr: ρ, ρ², 2 ln ρ (null when ρ = 0), stability and the slowest eigenvalue. */
  lr?: number;
  stable?: boolean;
  rate?: number;
  lossFactor?: number;
  logLossSlope?: number | null;
  slowestLambda?: number;
  /** With config.predictAt: L_t by step. */
  predictedLoss?: Record<string, number>;
};

/** The record of one evaluation (analyses/<label>.json). Infinite numbers are null. */
export type InitConditionsData = {
  sequences: number;
  tokens: number;
  dimension: number;
  outputs: number;
  heads: number;
  /** N·n. */
  rows: number;
  batch: 'training' | 'analysis';
  /** The loss at the current parameters, (1/2N) Σ‖F − Y‖². */
  loss: number;
  checks: Record<string, boolean>;
  thresholds: Record<string, number>;
  /** σ_min of B over its N·n rows (the smallest over heads), and λ_min(BBᵀ) = σ_min². */
  sigmaMin: number;
  lambdaMin: number;
  ratios: {
    sigmaMinSquaredOverLoss: number;
    sigmaMinOverWeightNorm: Record<string, number | null>;
  };
  weightNorms: Record<string, number>;
  /** B_h per head. */
  stackedInputs: Array<{
    rank: number;
    sigmaMin: number;
    sigmaMax: number;
    conditionNumber: number | null;
    lambdaMin: number;
    singularValues: number[];
  }>;
  /** S_ih per head, by sequence. */
  kernels: Array<{
    conditionNumbers: Array<number | null>;
    sigmaMins: number[];
    worstConditionNumber: number | null;
  }>;
  /** Singular values of W_Q, W_K, W_V (and W_O), by block name (see weight-spectra.ts). */
  weightSpectra: Record<string, WeightSpectrum>;
  /** σ_min(W_Q)/σ_max(W_V), σ_max(W_Q)/σ_min(W_V), and the same for W_K. */
  weightRatios: WeightRatios;
  valueOnlyGd: ValueOnlyGdPrediction | { reason: string };
  notes: string[];
};

/** The float32 machine epsilon: S and X come from float32 tensors. */
export const FLOAT32_EPSILON = 2 ** -23;

/** Infinity and NaN are not JSON: report them as null. */
export const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
