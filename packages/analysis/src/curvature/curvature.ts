/**
 * `curvature(model, batches)`: the Hessian of a model's loss as one object, the one-line entry
 * point (as PyHessian's `hessian(model, criterion, data).eigenvalues()`), built on this
 * package's operators and algorithms with nothing new in the numerics:
 *
 *     const H = curvature(model, batch);
 *     H.topEigenvalues(3);  // Lanczos with full reorthogonalisation
 *     H.trace();            // Hutchinson
 *     H.density();          // SLQ: nodes and weights per probe, the density on a grid
 *     H.blockwise();        // per-block densities on one grid, their Jensen–Shannon matrix, JS⁰
 *
 * The Hessian is over the trainable blocks (or `select`), of the loss averaged over the batches
 * (`aggregate: 'sum'` adds them), from exact Hessian-vector products in float32 on the backend
 * in use, with the vector arithmetic in float64 on the host. Nothing is cached: each call
 * runs its own Hessian-vector products, and the same seed gives the same numbers. Batches stay
 * the caller's (nothing here disposes them).
 */
import {
  type Batch,
  type ParamSelector,
  type ParamSet,
  type ParamValues,
  type Scalar,
} from '@tdx/tensor';
import { hutchinsonTrace, type TraceEstimate } from '../spectral/hutchinson.js';
import { jensenShannonMatrix, type JsMode } from '../spectral/jensen-shannon.js';
import {
  densityGrid,
  densityOnGrid,
  slqQuadratures,
  spectralDensity,
  type Quadrature,
  type SlqSettings,
  type SpectralDensity,
} from '../spectral/slq.js';
import { topEigenvalues } from '../spectral/top-eigenvalues.js';
import { blockSelection, slqSettings } from './config.js';
import { blockOperators, hessianOperator, type CurvatureOperator } from './operators.js';

/** What curvature() needs of a model: a tdx `Model` has both. */
export interface CurvatureModel {
  params: ParamSet;
  /** The scalar loss of `batch` at parameter `values` (a map with every block). */
  loss(values: ParamValues, batch: Batch): Scalar;
}

export interface CurvatureOptions {
  /** The blocks the Hessian is over: a selector of the trainable blocks; default all of them. */
  select?: ParamSelector;
  /** Several batches: `mean` (default) averages their Hessians, `sum` adds them (Zhang et al.). */
  aggregate?: 'mean' | 'sum';
}

/** SLQ settings: a preset (`tdx` by default), any of its settings overridden, and the seed. */
export interface DensityOptions {
  preset?: 'tdx' | 'pyhessian' | 'zhang2024' | 'eigenthings';
  probes?: number;
  steps?: number;
  start?: 'gaussian' | 'rademacher';
  reorthogonalize?: boolean;
  /** A fixed Gaussian width instead of the preset's rule. */
  sigma?: number;
  gridPoints?: number;
  seed?: number;
}

export interface BlockwiseOptions extends DensityOptions {
  /** `each` trainable tensor (default), or a list of selectors, each one block. */
  blocks?: 'each' | ParamSelector[];
  /** Roles left out of `each`; default ['bias', 'norm'] (Zhang et al. analyse weight matrices). */
  exclude?: string[];
  /** Cut each tensor further: its rows, columns, or `heads` groups of columns. */
  split?: 'none' | 'rows' | 'columns' | 'heads';
  heads?: number;
  /** Jensen–Shannon on probability masses (default, bounded by ln 2) or on raw densities. */
  mode?: JsMode;
}

export interface BlockDensity {
  name: string;
  dimension: number;
  quadratures: Quadrature[];
  /** On the common grid of BlockwiseCurvature. */
  density: Float64Array;
}

export interface BlockwiseCurvature {
  blocks: BlockDensity[];
  /** One grid and one Gaussian width for every block, so densities compare point by point. */
  grid: Float64Array;
  sigma: number;
  /** JS between every pair of blocks, in the order of `blocks`; js0 is its mean over pairs. */
  matrix: number[][];
  js0: number;
  mode: JsMode;
  settings: SlqSettings;
}

export interface Curvature {
  /** The Hessian as an operator v ↦ Hv on the host: compose your own algorithms with it. */
  readonly operator: CurvatureOperator;
  /** Parameters the Hessian is over. */
  readonly dimension: number;
  /**
   * The k largest eigenvalues (default 1), largest first: algebraically, or by magnitude with
   * `which: 'magnitude'`; Lanczos with full reorthogonalisation, `steps` default max(2k+20, 40).
   */
  topEigenvalues(
    k?: number,
    options?: { which?: 'largest' | 'magnitude'; steps?: number; seed?: number },
  ): number[];
  /** Hutchinson's estimate of tr(H) from `probes` (default 100) Rademacher vectors. */
  trace(options?: { probes?: number; seed?: number }): TraceEstimate;
  /** The spectral density by SLQ: quadratures (nodes, weights) per probe, grid, density. */
  density(options?: DensityOptions): SpectralDensity;
  /**
   * Per-block densities of the diagonal blocks H_bb of the trainable blocks (its own `blocks`
   * selection, not `select`), on one grid, and their heterogeneity: the Jensen–Shannon matrix
   * and JS⁰ (Zhang et al. 2024). Block i uses seed + i, as the block-heterogeneity analysis.
   */
  blockwise(options?: BlockwiseOptions): BlockwiseCurvature;
}

const settingsOf = (options: DensityOptions): SlqSettings =>
  slqSettings({ ...options, preset: options.preset ?? 'tdx' });

function blockwiseOf(
  lossOn: (batch: Batch) => (values: ParamValues) => Scalar,
  model: CurvatureModel,
  batches: readonly Batch[],
  aggregate: 'mean' | 'sum',
  options: BlockwiseOptions,
): BlockwiseCurvature {
  const settings = settingsOf(options);
  const selection = blockSelection({
    blocks: (options.blocks ?? 'each') as 'each' | Array<Record<string, unknown>>,
    exclude: options.exclude ?? ['bias', 'norm'],
    split: options.split ?? 'none',
    heads: options.heads,
  });
  const operators = blockOperators(lossOn, model.params, batches, selection, aggregate);
  const seed = options.seed ?? 0;
  // Block i from seed + i, as the block-heterogeneity analysis draws them.
  const quadratures = operators.map((op, i) =>
    slqQuadratures(op.apply, op.dimension, settings, seed + i),
  );
  const { grid, sigma } = densityGrid(quadratures, settings);
  const densities = quadratures.map((q) => densityOnGrid(q, grid, sigma));
  const mode = options.mode ?? 'probability';
  const { matrix, mean } = jensenShannonMatrix(densities, mode);
  return {
    blocks: operators.map((op, i) => ({
      name: op.name,
      dimension: op.dimension,
      quadratures: quadratures[i]!,
      density: densities[i]!,
    })),
    grid,
    sigma,
    matrix,
    js0: mean,
    mode,
    settings,
  };
}

/**
 * The Hessian of `model`'s loss on `batches` (one batch or several) at its current parameters.
 * See the file's comment, and packages/analysis/README.md for an example.
 */
export function curvature(
  model: CurvatureModel,
  batches: Batch | readonly Batch[],
  options: CurvatureOptions = {},
): Curvature {
  const list: readonly Batch[] = Array.isArray(batches) ? batches : [batches as Batch];
  const lossOn = (batch: Batch) => (values: ParamValues) => model.loss(values, batch);
  const aggregate = options.aggregate ?? 'mean';
  const trainable = model.params.trainable();
  const operator = hessianOperator(lossOn, model.params, list, {
    wrt: options.select ? trainable.select(options.select) : trainable,
    aggregate,
    name: 'H',
  });
  return {
    operator,
    dimension: operator.dimension,
    topEigenvalues: (k = 1, o = {}) =>
      topEigenvalues(operator.apply, operator.dimension, {
        k,
        which: o.which ?? 'largest',
        seed: o.seed ?? 0,
        ...(o.steps ? { steps: o.steps } : {}),
      }).values,
    trace: (o = {}) =>
      hutchinsonTrace(operator.apply, operator.dimension, o.probes ?? 100, o.seed ?? 0),
    density: (o = {}) =>
      spectralDensity(operator.apply, operator.dimension, settingsOf(o), o.seed ?? 0),
    blockwise: (o = {}) => blockwiseOf(lossOn, model, list, aggregate, o),
  };
}
