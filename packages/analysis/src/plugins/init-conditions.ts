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
 *   `sigmaMinLargeVsWeights` (σ_min/‖W‖_F ≥ minSigmaOverWeightNorm for every block). The paper's
 *   own thresholds could not be transcribed (notes/seeds.md §3), so every threshold is a config
 *   value and the ratios are always reported;
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
 */
import { definePlugin, TdxError, z, type AnalysisInstance, type AnalysisOutput } from '@tdx/core';
import { tf, type AnalysisTarget, type Batch, type ParamValues, type Tensor } from '@tdx/tensor';
import {
  gdLearningRates,
  gdRate,
  predictedLoss,
  type GdMode,
  type LeastSquaresSpectrum,
} from '../spectral/gd-rate.js';
import { numericalRank, singularPairs, singularValues } from '../spectral/singular-values.js';

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
  valueOnlyGd: ValueOnlyGdPrediction | { reason: string };
  notes: string[];
};

const FLOAT32_EPSILON = 2 ** -23;

function kernelModel(model: unknown): KernelMatrixModel {
  const m = model as Partial<KernelMatrixModel> | undefined;
  if (typeof m?.kernelMatrices !== 'function' || typeof m.valuePath !== 'object') {
    throw new TdxError(
      'INVALID_ARGUMENT',
      'init-conditions needs a model that exposes its attention kernel matrices (kernelMatrices(values, inputs) and valuePath); this model does not',
      {
        hint: 'use it with the one-layer-attention model (the one-layer regime of Song et al. 2024)',
      },
    );
  }
  return m as KernelMatrixModel;
}

const read = (t: Tensor): Float64Array => Float64Array.from(t.dataSync());
const frobenius = (x: ArrayLike<number>): number =>
  Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));
/** Infinity and NaN are not JSON: report them as null. */
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function initConditions(
  target: AnalysisTarget,
  config: InitConditionsConfig,
): AnalysisOutput & { value: number; data: InitConditionsData } {
  const model = kernelModel(target.model);
  const { heads: H, value: valueName, output: outputName } = model.valuePath;
  const owned = config.batch === 'training';
  const batch: Batch = owned
    ? (tf.tidy(
        () => target.dataset.batch(target.step) as unknown as tf.TensorContainer,
      ) as unknown as Batch)
    : target.analysisBatch();
  try {
    if (batch.inputs.rank !== 3 || batch.targets.rank !== 3)
      throw new TdxError(
        'SHAPE_MISMATCH',
        `init-conditions needs token sequences [N, n, d] and targets [N, n, out], got [${batch.inputs.shape}] and [${batch.targets.shape}]`,
        { hint: 'use it with the token-regression dataset' },
      );
    const [N, n, d] = batch.inputs.shape as [number, number, number];
    const out = batch.targets.shape[2]!;
    const rows = N * n;
    const values = target.params.values();
    const X = read(batch.inputs);
    const Y = read(batch.targets);
    const kernelTensor = model.kernelMatrices(values, batch.inputs);
    const S = read(kernelTensor);
    kernelTensor.dispose();
    const modelLoss = tf.tidy(() => target.lossOn(batch)(values).dataSync()[0]!);
    const WV = read(target.params.block(valueName).variable);
    const WO = outputName ? read(target.params.block(outputName).variable) : undefined;
    const width = WV.length / d; // H·v
    const v = width / H;
    if (S.length !== N * H * n * n || !Number.isInteger(v))
      throw new TdxError(
        'PLUGIN_CONTRACT',
        `the model's kernel matrices (${S.length} entries) or value block [${target.params.block(valueName).shape}] do not fit ${N} sequences of ${n} tokens in dimension ${d} with ${H} heads`,
      );
    if (Math.min(rows, d) > config.maxGramSize || (WO && Math.min(out, width) > config.maxGramSize))
      throw new TdxError(
        'INVALID_ARGUMENT',
        `init-conditions would decompose a ${Math.min(rows, d)}-square Gram matrix, above maxGramSize ${config.maxGramSize}`,
        {
          hint: 'analyse fewer sequences or tokens, or raise maxGramSize (the cost grows as its cube)',
        },
      );
    const tolerance = config.rankTolerance ?? Math.max(rows, d) * FLOAT32_EPSILON;

    // B_h = [S_1h X_1; …; S_Nh X_N], (N·n) × d, row r = i·n + t.
    const B = Array.from({ length: H }, (_, h) => {
      const b = new Float64Array(rows * d);
      for (let i = 0; i < N; i++)
        for (let t = 0; t < n; t++)
          for (let j = 0; j < n; j++) {
            const s = S[((i * H + h) * n + t) * n + j]!;
            for (let c = 0; c < d; c++) b[(i * n + t) * d + c]! += s * X[(i * n + j) * d + c]!;
          }
      return b;
    });

    // The residual R = F − Y ((N·n) × out) from B and the weights, and the loss it gives.
    const R = new Float64Array(rows * out);
    const joined = new Float64Array(width);
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < H; h++)
        for (let c = 0; c < v; c++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += B[h]![r * d + k]! * WV[k * width + h * v + c]!;
          joined[h * v + c] = s;
        }
      for (let c = 0; c < out; c++) {
        let f = joined[c]!;
        if (WO) {
          f = 0;
          for (let k = 0; k < width; k++) f += joined[k]! * WO[k * out + c]!;
        }
        R[r * out + c] = f - Y[r * out + c]!;
      }
    }
    const loss = frobenius(R) ** 2 / (2 * N);
    const scale = frobenius(Y) ** 2 / (2 * N);
    if (Math.abs(loss - modelLoss) > 1e-3 * Math.max(modelLoss, 1e-3 * scale))
      throw new TdxError(
        'PLUGIN_CONTRACT',
        `the model's loss ${modelLoss} is not (1/2N) Σ‖F − Y‖² = ${loss} of the output its kernelMatrices and valuePath describe`,
        { hint: 'init-conditions derives its rates for that loss; check the model' },
      );

    const perHead = B.map((b) => {
      const pairs = singularPairs(b, rows, d);
      const sv = pairs.values;
      const rank = numericalRank(sv, tolerance);
      const sigmaMin = rows <= d ? sv[rows - 1]! : 0;
      return { pairs, sv, rank, sigmaMin, sigmaMax: sv[0]! };
    });
    const kernels = Array.from({ length: H }, (_, h) => {
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

    const sigmaMin = Math.min(...perHead.map((p) => p.sigmaMin));
    const weightNorms = Object.fromEntries(
      target.params.blocks.map((b) => [b.name, frobenius(b.variable.dataSync())]),
    );
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

    const notes: string[] = [
      "Song et al.'s threshold values are not transcribed (notes/seeds.md §3): the checks use this analysis's configurable thresholds.",
    ];
    if (!checks.embeddingLargeEnough)
      notes.push(
        `d = ${d} < N·n = ${rows}: B cannot have full row rank, and W_V-only GD converges to minimumLoss (> 0 for generic targets), not to 0.`,
      );
    const trainable = target.params.trainable().names;
    if (trainable.some((name) => name !== valueName))
      notes.push(
        `blocks other than ${valueName} train too (${trainable.join(', ')}): the predicted rate is that of W_V-only GD from these parameters.`,
      );

    const valueOnlyGd = valueOnlyRate(
      { N, rows, out, width, v, H, tolerance, R, WO, perHead },
      config,
    );
    return {
      value: sigmaMin ** 2,
      data: {
        sequences: N,
        tokens: n,
        dimension: d,
        outputs: out,
        heads: H,
        rows,
        batch: config.batch,
        loss,
        checks,
        thresholds: {
          rankTolerance: tolerance,
          kernelConditionLimit: config.kernelConditionLimit,
          ...(config.minSigmaSquaredOverLoss === undefined
            ? {}
            : { minSigmaSquaredOverLoss: config.minSigmaSquaredOverLoss }),
          ...(config.minSigmaOverWeightNorm === undefined
            ? {}
            : { minSigmaOverWeightNorm: config.minSigmaOverWeightNorm }),
        },
        sigmaMin,
        lambdaMin: sigmaMin ** 2,
        ratios: { sigmaMinSquaredOverLoss, sigmaMinOverWeightNorm },
        weightNorms,
        stackedInputs: perHead.map((p) => ({
          rank: p.rank,
          sigmaMin: p.sigmaMin,
          sigmaMax: p.sigmaMax,
          conditionNumber: finite(p.sigmaMax / p.sigmaMin),
          lambdaMin: p.sigmaMin ** 2,
          singularValues: Array.from(p.sv),
        })),
        kernels: kernels.map((k) => ({
          ...k,
          worstConditionNumber: finite(k.worstConditionNumber),
        })),
        valueOnlyGd,
        notes,
      },
    };
  } finally {
    if (owned) tf.dispose([batch.inputs, batch.targets]);
  }
}

interface RateInputs {
  N: number;
  rows: number;
  out: number;
  width: number;
  v: number;
  H: number;
  tolerance: number;
  R: Float64Array;
  WO: Float64Array | undefined;
  perHead: Array<{ pairs: ReturnType<typeof singularPairs>; rank: number }>;
}

/** The spectrum of W_V-only GD's residual operator, and what it predicts. */
function valueOnlyRate(
  inputs: RateInputs,
  config: InitConditionsConfig,
): InitConditionsData['valueOnlyGd'] {
  const { N, rows, out, width, v, H, tolerance, R, WO, perHead } = inputs;
  if (WO && H > 1)
    return {
      reason:
        'not derived for several heads with W_O: the residual operator Σ_h B_hB_hᵀ · W_O,hᵀW_O,h does not factor',
    };
  const modes: GdMode[] = [];
  const total = frobenius(R) ** 2;
  let reached = 0;
  if (!WO) {
    // Head h moves its own columns of R: R_h ← (I − (η/N) B_hB_hᵀ) R_h.
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
        reached += weight;
      }
    });
  } else {
    // R ← R − (η/N) BBᵀ R W_OᵀW_O: modes u_k w_jᵀ with eigenvalues λ_k μ_j, w_j the right
    // singular vectors of W_O (the left ones of W_Oᵀ, out × width).
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
    for (let k = 0; k < rank; k++) {
      const u = pairs.left(k);
      const uR = new Float64Array(out);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < out; c++) uR[c]! += u[r]! * R[r * out + c]!;
      for (let j = 0; j < outputRank; j++) {
        let s = 0;
        for (let c = 0; c < out; c++) s += uR[c]! * w[j]![c]!;
        modes.push({ lambda: pairs.values[k]! ** 2 * outputPairs.values[j]! ** 2, weight: s * s });
        reached += s * s;
      }
    }
  }
  const spectrum: LeastSquaresSpectrum = {
    modes,
    unreachable: Math.max(0, total - reached),
    N,
  };
  if (modes.length === 0)
    return { reason: 'B (or W_O) is numerically zero: W_V-only GD cannot move the output' };
  const limits = gdLearningRates(spectrum);
  const result: ValueOnlyGdPrediction = {
    operator: WO ? 'λ_k(BBᵀ)·μ_j(W_OᵀW_O)' : H > 1 ? 'B_hB_hᵀ per head' : 'BBᵀ',
    lambdaMin: limits.lambdaMin,
    lambdaMax: limits.lambdaMax,
    conditionNumber: limits.lambdaMax / limits.lambdaMin,
    modes: modes.length,
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

export const initConditionsPlugin = definePlugin({
  kind: 'analysis',
  name: 'init-conditions',
  title: 'initial conditions λ_min(BBᵀ)',
  description:
    "Song et al.'s initial conditions for one attention layer: rank, singular values and condition of B = [S_iX_i], κ(S_i), d ≥ N·n, and the linear rate of W_V-only gradient descent",
  config: initConditionsConfig,
  create: (config): AnalysisInstance => ({
    run: (target) => initConditions(target as AnalysisTarget, config),
  }),
});
