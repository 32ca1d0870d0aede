/**
 * Where datasets, models, optimizers and analyses meet. The four packages that provide them
 * never import each other: a model gives a loss over a ParamSet, an optimizer transforms
 * gradients, an analysis takes a loss and a ParamSet.
 */
import { TdxError } from '@tdx/core';
import type { ParamSet, ParamValues } from './param-set.js';
import type { Scalar, Tensor } from './tf.js';

/** One minibatch. Axis 0 of both tensors is the batch. */
export interface Batch {
  inputs: Tensor;
  targets: Tensor;
}

/** What a dataset produces, so a model can size itself and check it fits the task. */
export interface DatasetInfo {
  /** The task, e.g. `icl-linear-regression`; a model that needs a particular layout checks it. */
  task: string;
  /** Shape of one example's input, without the batch axis. */
  inputShape: number[];
  /** Shape of one example's target, without the batch axis ([] for a scalar). */
  targetShape: number[];
  /** Task facts a model may need: dimensions, vocabulary size, number of classes. */
  meta: Record<string, number | string | boolean>;
}

export interface Dataset {
  readonly info: DatasetInfo;
  /**
   * The training batch of step `step`: a pure function of the dataset's seed and the step,
   * so runs can resume anywhere. The caller owns the tensors (call inside tf.tidy).
   */
  batch(step: number): Batch;
  /** A fixed held-out batch, the same at every call; owned by the dataset, do not dispose. */
  evalBatch?(): Batch;
  /**
   * A dataset whose stream has state beyond (seed, step) (a shuffled epoch order, a cursor)
   * returns it here as JSON, so a resumed run continues the same stream.
   */
  checkpoint?(): unknown;
  restore?(state: unknown): void;
  dispose(): void;
}

/**
 * A model: its parameters, a loss and a prediction. What only some models offer is a
 * capability of its own with a type guard (a mean-field model's particles: MeanFieldModel).
 */
export interface Model {
  readonly params: ParamSet;
  /** Scalar training loss of `batch` at parameter `values` (a full map: every block). */
  loss(values: ParamValues, batch: Batch): Scalar;
  /** The model's output for `inputs` at parameter `values`. */
  predict(values: ParamValues, inputs: Tensor): Tensor;
  dispose(): void;
}

/**
 * What an `attention-kernel` plugin creates: the attention weights S(q, k) that multiply the
 * values. Models call it once per layer and head batch, inside their own tidy.
 */
export interface AttentionKernel {
  /**
   * Weights [..., Tq, Tk] from queries q [..., Tq, d] and keys k [..., Tk, d] (same leading
   * axes). `allowed` (1 where query i may see key j, else 0; [Tq, Tk], or any shape that
   * broadcasts against the weights, such as [B, 1, 1, Tk] for padding) masks keys; a masked
   * weight must be exactly 0 and must not receive gradient. Every op used

   * must have exact second derivatives (see the autodiff folder): analyses take HVPs through it.
   */
  weights(q: Tensor, k: Tensor, allowed?: Tensor): Tensor;
}

/** What a `model` plugin creates: it builds the model once it knows the data. */

export interface ModelBuilder {
  build(info: DatasetInfo): Model;
}

/** A tree of tensors and numbers: the state of a gradient transformation. */
export type OptimizerState = unknown;

/**
 * What a trainer offers an optimizer when it starts: the curvature of the training loss at the
 * initial parameters. Optimizers that set per-block step sizes from curvature use it; others
 * ignore it.
 */
export interface OptimizerContext {
  /**
   * H v for the loss of the first training batch at the initial parameters, H over the
   * trainable blocks (the blocks of `init`'s params). Call inside tf.tidy.
   */
  hvp(v: ParamValues): ParamValues;
}

/**
 * What a trainer offers an optimizer at each update: the gradient of the same training batch at
 * other parameter values (integrators, extragradient and sharpness-aware methods need it).
 */
export interface UpdateContext {
  /**
   * The batch loss's gradient at `values` (the trainable blocks, by name), scaled per block as
   * the `grads` of update are (see ParamBlockSpec.lrScale). Call inside tf.tidy.
   */
  gradient(values: ParamValues): ParamValues;
}

/**
 * An optimizer, as in optax: it turns gradients into updates, which are added to the
 * parameters (so a descent step has negative updates). `chain(...)` composes them.
 * Tensors in the returned state are kept by the caller across steps.
 */
export interface GradientTransformation<S = OptimizerState> {
  init(params: ParamValues, context?: OptimizerContext): S;

  update(
    grads: ParamValues,
    state: S,
    params: ParamValues,
    context?: UpdateContext,
  ): { updates: ParamValues; state: S };

  /**
   * Optional: numbers to log with the loss (`tau`, the training time elapsed: the sum of the
   * step sizes taken; an integrator's current step size). Plain numbers from the state only.
   */
  metrics?(state: S): Record<string, number>;

  /**
   * Optional: the constant settings it applies that an analysis may need to know (`weightDecay`:
   * the λ of the objective the training minimises). Not logged: they are in the run's spec.
   */
  hyperparameters?(): Record<string, number>;
}

/** What the built-in trainer hands to analyses: the model at the current state of training. */
export interface AnalysisTarget {
  model: Model;
  dataset: Dataset;
  /** The model's parameters (every block; `params.trainable()` are the ones being trained). */
  params: ParamSet;
  /** The loss of a fixed batch, as a function of parameter values. */
  lossOn(batch: Batch): (values: ParamValues) => Scalar;
  /** The dataset's evaluation batch, or else the training batch of the current step. Owned by the target. */
  analysisBatch(): Batch;
  /** Number of updates made so far. */
  step: number;
  /**
   * The most recent update w_t − w_{t−1} over the trainable blocks, flattened in
   * `params.trainable()` order; undefined before the first update and right after a resume.
   * Optional: trainers that cannot tell leave it out.
   */
  lastUpdate?(): Float64Array | undefined;
  /** The optimizer's numbers for the current state (`tau`: the training time elapsed). */
  optimizerMetrics?(): Record<string, number>;
  /** The optimizer's constant settings (`weightDecay`), apart from its metrics. */
  optimizerHyperparameters?(): Record<string, number>;
}

/**
 * The plugin kinds whose contracts live here, typed end to end: definePlugin checks a plugin's
 * create against them, `registry.create('model', ref)` returns a ModelBuilder, and analyses
 * receive the AnalysisTarget of the built-in trainer.
 */
declare module '@tdx/core' {
  interface PluginInstances {
    dataset: Dataset;
    model: ModelBuilder;
    'attention-kernel': AttentionKernel;
    optimizer: GradientTransformation;
  }
  interface AnalysisTargets {
    tensor: AnalysisTarget;
  }
}

function hasMethods(value: unknown, methods: string[]): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

function contractError(what: string, needs: string): TdxError {
  return new TdxError(
    'PLUGIN_CONTRACT',
    `${what} does not fulfil the contract: it needs ${needs}`,
    {
      hint: 'see the contracts in @tdx/tensor (Dataset, ModelBuilder, GradientTransformation)',
    },
  );
}

export function asDataset(value: unknown, name = 'the dataset plugin'): Dataset {
  if (!hasMethods(value, ['batch', 'dispose']) || typeof (value as Dataset).info !== 'object') {
    throw contractError(`${name}'s instance`, 'info, batch(step) and dispose()');
  }
  return value as Dataset;
}

export function asModelBuilder(value: unknown, name = 'the model plugin'): ModelBuilder {
  if (!hasMethods(value, ['build']))
    throw contractError(`${name}'s instance`, 'build(info) returning a Model');
  return value as ModelBuilder;
}

export function asModel(value: unknown, name = 'the model'): Model {
  if (
    !hasMethods(value, ['loss', 'predict', 'dispose']) ||
    typeof (value as Model).params !== 'object'
  ) {
    throw contractError(name, 'params, loss(values, batch), predict(values, inputs) and dispose()');
  }
  return value as Model;
}

export function asAttentionKernel(
  value: unknown,
  name = 'the attention-kernel plugin',
): AttentionKernel {
  if (!hasMethods(value, ['weights']))
    throw contractError(`${name}'s instance`, 'weights(q, k, allowed?) returning [..., Tq, Tk]');
  return value as AttentionKernel;
}

export function asGradientTransformation(
  value: unknown,
  name = 'the optimizer plugin',
): GradientTransformation {
  if (!hasMethods(value, ['init', 'update']))
    throw contractError(`${name}'s instance`, 'init(params) and update(grads, state, params)');
  return value as GradientTransformation;
}
