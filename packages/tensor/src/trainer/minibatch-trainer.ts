/**
 * The built-in trainer: one optimizer update per training batch. Each step runs inside
 * tf.tidy; only the parameters and the optimizer state outlive it, and a step that leaves
 * tensors behind is reported instead of slowly eating memory (leak-guard.ts). With
 * `firstSteps`, a first training stage (another model, optimizer or set of trainable blocks)
 * runs before step 0 and the run starts from where it ended (first-stage.ts).
 */
import {
  definePlugin,
  pluginRef,
  TdxError,
  z,
  type TrainerInstance,
  type TrainerParts,
  type TrainingSession,
} from '@tdx/core';
import { hvp, valueAndGrad } from '../autodiff/gradients.js';
import {
  asDataset,
  asGradientTransformation,
  asModel,
  asModelBuilder,
  type AnalysisTarget,
  type Batch,
  type Dataset,
  type GradientTransformation,
  type Model,
  type OptimizerContext,
  type UpdateContext,
} from '../contracts.js';

import type { ParamSet, ParamValues } from '../param-set.js';
import {
  paramSelectorSchema,
  toParamSelector,
  type ParamSelectorConfig,
} from '../param-selector-config.js';
import { tf, type Tensor } from '../tf.js';

import { disposeReplaced, tensorsIn } from '../tree.js';
import { encodeCheckpoint, restoreCheckpoint } from './checkpoint-codec.js';
import { startFromFirstStage, trainFirstStage } from './first-stage.js';
import { LeakGuard } from './leak-guard.js';

export interface MinibatchTrainerConfig {
  /** What to do when steps keep leaving tensors behind: fail the run, warn once, or nothing. */
  leakCheck: 'error' | 'warn' | 'off';
  /** The blocks that train (any selector matching); the others are frozen. Default: all. */
  trainable?: ParamSelectorConfig[] | undefined;
  /**
   * Sets the model's parameters once it is built, before the optimizer's state is made from
   * them (the two-stage trainer starts its second stage from its first stage's parameters).
   */
  initialize?: ((params: ParamSet) => void) | undefined;
}

/** A training session whose analysis target is an AnalysisTarget. */
export interface MinibatchSession extends TrainingSession {
  target(): AnalysisTarget;
  metrics(): Record<string, number>;
}

/** Starts a session; exported so code can train without a spec (see the README). */
export function startMinibatchSession(
  parts: Omit<TrainerParts, 'steps'> & { steps?: number },
  config: MinibatchTrainerConfig = { leakCheck: 'error' },
): MinibatchSession {
  const { dataset, model, optimizer, trainable } = prepareParts(
    parts,
    config.trainable,
    config.initialize,
  );
  let state = initOptimizerState(optimizer, model, dataset, trainable);
  let stepsDone = 0;
  const leaks = new LeakGuard(config.leakCheck);
  const batches = new AnalysisBatchCache(dataset);
  const lastUpdate = new LastUpdate(trainable.size);
  const step = updateStep(model, dataset, optimizer, trainable);
  const lossAt = (batch: Batch) => scalar(tf.tidy(() => model.loss(model.params.values(), batch)));

  return {
    step(t) {
      batches.drop();
      return leaks.watch(() => {
        const { loss, next, applied } = step(t, state);
        disposeReplaced(state, next);
        state = next;
        lastUpdate.set(applied);
        stepsDone = t + 1;
        return scalar(loss);
      });
    },
    metrics: () => optimizer.metrics?.(state) ?? {},
    loss: (t) => scalar(tf.tidy(() => model.loss(model.params.values(), dataset.batch(t)))),
    evalLoss: () => (dataset.evalBatch ? lossAt(dataset.evalBatch()) : undefined),
    target: () => ({
      model,
      dataset,
      params: model.params,
      step: stepsDone,
      lossOn: (batch) => (values) => model.loss(values, batch),
      optimizerMetrics: () => optimizer.metrics?.(state) ?? {},
      optimizerHyperparameters: () => optimizer.hyperparameters?.() ?? {},
      lastUpdate: () => lastUpdate.flat(),
      analysisBatch: () => (dataset.evalBatch ? dataset.evalBatch() : batches.at(stepsDone)),
    }),
    checkpoint: () => encodeCheckpoint(model.params, state, dataset.checkpoint?.() ?? null),
    restore(checkpoint, t) {
      const restored = restoreCheckpoint(checkpoint, model.params);
      disposeReplaced(state, restored.optimizer);
      state = restored.optimizer;
      if (restored.dataset !== null) dataset.restore?.(restored.dataset);
      stepsDone = t;
      batches.drop();
      lastUpdate.drop();
    },
    dispose() {
      batches.drop();
      lastUpdate.drop();
      for (const t of tensorsIn(state)) if (!t.isDisposed) t.dispose();
      model.dispose();
      dataset.dispose();
    },
  };
}

/**
 * The session's dataset, model (built for the dataset, frozen blocks applied) and optimizer,
 * each checked against its contract, and the blocks that train (at least one).
 */
function prepareParts(
  parts: Omit<TrainerParts, 'steps'>,
  selectors: ParamSelectorConfig[] | undefined,
  initialize?: (params: ParamSet) => void,
): { dataset: Dataset; model: Model; optimizer: GradientTransformation; trainable: ParamSet } {
  const dataset = asDataset(parts.dataset);
  const model = asModel(
    asModelBuilder(parts.model).build(dataset.info),
    'the model built by the model plugin',
  );
  const optimizer = asGradientTransformation(parts.optimizer);
  if (initialize) {
    try {
      initialize(model.params);
    } catch (error) {
      model.dispose();
      throw error;
    }
  }
  applyTrainable(model.params, selectors);
  const trainable = model.params.trainable();
  if (trainable.blocks.length === 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      'every parameter block is frozen: there is nothing to train',
    );
  }
  return { dataset, model, optimizer, trainable };
}

/**
 * Freezes every block the selectors leave out. Frozen blocks get no gradient, no update and no
 * optimizer state, and analyses see them as constants (they work on params.trainable()).
 */
function applyTrainable(params: ParamSet, selectors: ParamSelectorConfig[] | undefined): void {
  if (!selectors) return;
  params.freeze();
  selectors.forEach((s) => params.unfreeze(toParamSelector(s)));
}

/**
 * The optimizer's initial state. Its init may ask for curvature (Hessian-vector products):
 * those use the first training batch, made once for all the products (blockwise-gd asks for
 * hundreds) and released when init returns.
 */
function initOptimizerState(
  optimizer: GradientTransformation,
  model: Model,
  dataset: Dataset,
  trainable: ParamSet,
): unknown {
  let curvatureBatch: Batch | undefined;
  const curvature: OptimizerContext = {
    hvp: (v) => {
      curvatureBatch ??= tf.tidy(() => {
        const batch = dataset.batch(0);
        for (const t of tensorsIn(batch)) tf.keep(t);
        return batch as unknown as tf.TensorContainer;
      }) as unknown as Batch;
      const batch = curvatureBatch;
      return hvp((values) => model.loss(values, batch), model.params, v, { wrt: trainable });
    },
  };
  try {
    return tf.tidy(() => optimizer.init(trainable.values(), curvature) as tf.TensorContainer);
  } finally {
    if (curvatureBatch) for (const t of tensorsIn(curvatureBatch)) t.dispose();
  }
}

/** Per-block learning-rate multipliers (mean-field, μP) act on the gradient: see lrScale. */
function lrScaler(trainable: ParamSet): (grads: ParamValues) => ParamValues {
  return (grads) =>
    Object.fromEntries(
      trainable.blocks.map((b) => {
        const g = grads[b.name]!;
        return [b.name, b.lrScale === undefined || b.lrScale === 1 ? g : tf.mul(g, b.lrScale)];
      }),
    );
}

/**
 * One update, inside tf.tidy: the loss of training batch t and its gradient, the optimizer's
 * update, added to the trainable blocks. Returns the loss, the optimizer's next state and the
 * update each block actually received; nothing else outlives the step.
 */
function updateStep(
  model: Model,
  dataset: Dataset,
  optimizer: GradientTransformation,
  trainable: ParamSet,
): (t: number, state: unknown) => { loss: Tensor; next: unknown; applied: Tensor[] } {
  const scaleGradients = lrScaler(trainable);
  return (t, state) => {
    const [loss, next, applied] = tf.tidy(() => {
      const batch = dataset.batch(t);
      const lossOf = (values: ParamValues) => model.loss(values, batch);
      const { value, grads } = valueAndGrad(lossOf, model.params, { wrt: trainable });
      const context: UpdateContext = {
        gradient: (values) =>
          scaleGradients(valueAndGrad(lossOf, model.params, { wrt: trainable, at: values }).grads),
      };
      const { updates, state: nextState } = optimizer.update(
        scaleGradients(grads),
        state,
        trainable.values(),
        context,
      );
      const applied = trainable.blocks.map((block) => {
        const update = updates[block.name];
        if (!update)
          throw new TdxError(
            'PLUGIN_CONTRACT',
            `the optimizer returned no update for block "${block.name}"`,
          );
        const next = tf.add(block.variable, update);
        // The update actually applied, in float32: w_t − w_{t−1} as the parameters see it.
        const delta = tf.sub(next, block.variable);
        block.variable.assign(next);
        return delta;
      });
      return [value, nextState as tf.TensorContainer, applied];
    }) as [Tensor, unknown, Tensor[]];
    return { loss, next, applied };
  };
}

/** A scalar tensor's value; the tensor is disposed. */
function scalar(t: Tensor): number {
  const value = t.dataSync()[0]!;
  t.dispose();
  return value;
}

/**
 * The training batch analyses use when the dataset has no eval batch: the batch of the current
 * state, made once per state. Its tensors are kept, so that a caller's tf.tidy cannot dispose
 * the cache; drop() does, before each step and on restore and dispose.
 */
class AnalysisBatchCache {
  private cached: { step: number; batch: Batch } | undefined;

  constructor(private readonly dataset: Dataset) {}

  at(step: number): Batch {
    if (this.cached?.step !== step) {
      this.drop();
      const batch = tf.tidy(
        () => this.dataset.batch(step) as unknown as tf.TensorContainer,
      ) as unknown as Batch;
      for (const t of tensorsIn(batch)) tf.keep(t);
      this.cached = { step, batch };
    }
    return this.cached.batch;
  }

  drop(): void {
    if (this.cached) for (const t of tensorsIn(this.cached.batch)) t.dispose();
    this.cached = undefined;
  }
}

/** The last step's update per trainable block, for analyses along the optimizer's direction. */
class LastUpdate {
  private updates: Tensor[] | undefined;

  constructor(private readonly size: number) {}

  set(updates: Tensor[]): void {
    this.drop();
    this.updates = updates;
  }

  /** The update as one flat vector (blocks in order); undefined before a step or after a restore. */
  flat(): Float64Array | undefined {
    if (!this.updates) return undefined;
    const flat = new Float64Array(this.size);
    let offset = 0;
    for (const u of this.updates) {
      flat.set(u.dataSync(), offset);
      offset += u.size;
    }
    return flat;
  }

  drop(): void {
    if (this.updates) tf.dispose(this.updates);
    this.updates = undefined;
  }
}

export const minibatchTrainer = definePlugin({
  kind: 'trainer',
  name: 'minibatch',
  description:
    "one update per training batch: the batch loss's gradient through the optimizer, added to the trainable blocks; optionally after a first stage (firstSteps) that trains another model",
  config: z
    .object({
      leakCheck: z.enum(['error', 'warn', 'off']).default('error'),
      trainable: z
        .array(paramSelectorSchema)
        .min(1)
        .optional()
        .describe(
          'Train only these blocks: roles (`[value]`, `[query, key, value]`) or selectors (`{ role, layer, name }`); the rest stay at their initial values. Default: every block.',
        ),
      firstSteps: z
        .number()
        .int()
        .positive()
        .optional()
        .describe(
          'A first training stage of this many updates before step 0; the run starts from where it ends (see first-stage.ts). Absent: none.',
        ),
      firstModel: pluginRef('model')
        .optional()
        .describe(
          "The first stage's model: the run's architecture, e.g. with another attention kernel. Absent: the run's model.",
        ),
      firstOptimizer: pluginRef('optimizer')
        .optional()
        .describe("The first stage's optimizer. Absent: the run's."),
      firstTrainable: z
        .array(paramSelectorSchema)
        .min(1)
        .optional()
        .describe('The blocks the first stage trains, as `trainable`. Default: every block.'),
    })
    .refine(
      (c) =>
        c.firstSteps !== undefined ||
        (c.firstModel === undefined &&
          c.firstOptimizer === undefined &&
          c.firstTrainable === undefined),
      {
        message:
          'firstModel, firstOptimizer and firstTrainable describe a first stage: give firstSteps',
        path: ['firstSteps'],
      },
    ),
  create: (config): TrainerInstance => ({
    start: (parts) => {
      if (config.firstSteps === undefined) return startMinibatchSession(parts, config);
      const first = trainFirstStage(
        parts,
        { ...config, firstSteps: config.firstSteps },
        startMinibatchSession,
      );
      return startMinibatchSession(parts, {
        leakCheck: config.leakCheck,
        trainable: config.trainable,
        initialize: (params) => startFromFirstStage(params, first),
      });
    },
  }),
});
