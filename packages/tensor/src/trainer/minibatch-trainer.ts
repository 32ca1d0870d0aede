/**
 * The built-in trainer: one optimizer update per training batch. Each step runs inside
 * tf.tidy; only the parameters and the optimizer state outlive it, and a step that leaves
 * tensors behind is reported instead of slowly eating memory.
 */
import {
  definePlugin,
  TdxError,
  z,
  type SessionCheckpoint,
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

export interface MinibatchTrainerConfig {
  /** What to do when steps keep leaving tensors behind: fail the run, warn once, or nothing. */
  leakCheck: 'error' | 'warn' | 'off';
  /** The blocks that train (any selector matching); the others are frozen. Default: all. */
  trainable?: ParamSelectorConfig[] | undefined;
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

const GROWING_STEPS_FOR_A_LEAK = 3;

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
  const dataset = asDataset(parts.dataset);
  const model = asModel(
    asModelBuilder(parts.model).build(dataset.info),
    'the model built by the model plugin',
  );
  const optimizer = asGradientTransformation(parts.optimizer);
  applyTrainable(model.params, config.trainable);
  const trainable = model.params.trainable();
  // Per-block learning-rate multipliers (mean-field, μP) act on the gradient: see lrScale.
  const scaleGradients = (grads: ParamValues): ParamValues =>
    Object.fromEntries(
      trainable.blocks.map((b) => {
        const g = grads[b.name]!;
        return [b.name, b.lrScale === undefined || b.lrScale === 1 ? g : tf.mul(g, b.lrScale)];
      }),
    );
  if (trainable.blocks.length === 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      'every parameter block is frozen: there is nothing to train',
    );
  }
  // The first training batch, made once for all the products an optimizer's init asks for
  // (blockwise-gd asks for hundreds), and released when init returns.
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
  let state: unknown;
  try {
    state = tf.tidy(() => optimizer.init(trainable.values(), curvature) as tf.TensorContainer);
  } finally {
    if (curvatureBatch) for (const t of tensorsIn(curvatureBatch)) t.dispose();
    curvatureBatch = undefined;
  }

  let stepsDone = 0;
  let growingSteps = 0;
  let warned = false;
  let cachedTrainBatch: { step: number; batch: Batch } | undefined;
  // The last step's update per trainable block, for analyses along the optimizer's direction.
  let lastUpdates: Tensor[] | undefined;
  const dropLastUpdates = (): void => {
    if (lastUpdates) tf.dispose(lastUpdates);
    lastUpdates = undefined;
  };

  const scalar = (t: Tensor): number => {
    const value = t.dataSync()[0]!;
    t.dispose();
    return value;
  };

  const checkLeak = (before: number): void => {
    if (config.leakCheck === 'off') return;
    growingSteps = tf.memory().numTensors > before ? growingSteps + 1 : 0;
    if (growingSteps < GROWING_STEPS_FOR_A_LEAK) return;
    const message = `each training step leaves tensors behind (${tf.memory().numTensors} live now): a dataset, model or optimizer plugin allocates tensors outside tf.tidy or keeps them`;
    if (config.leakCheck === 'error')
      throw new TdxError('RUN_FAILED', message, {
        hint: 'set trainer.leakCheck to "warn" to go on anyway',
      });
    if (!warned) console.warn(`tdx: ${message}`);
    warned = true;
  };

  const dropCachedBatch = (): void => {
    if (cachedTrainBatch) for (const t of tensorsIn(cachedTrainBatch.batch)) t.dispose();
    cachedTrainBatch = undefined;
  };

  const session: MinibatchSession = {
    step(step) {
      dropCachedBatch();
      const before = tf.memory().numTensors;
      const [loss, next, applied] = tf.tidy(() => {
        const batch = dataset.batch(step);
        const lossOf = (values: ParamValues) => model.loss(values, batch);
        const { value, grads } = valueAndGrad(lossOf, model.params, { wrt: trainable });
        const context: UpdateContext = {
          gradient: (values) =>
            scaleGradients(
              valueAndGrad(lossOf, model.params, { wrt: trainable, at: values }).grads,
            ),
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
      disposeReplaced(state, next);
      state = next;
      dropLastUpdates();
      lastUpdates = applied;
      stepsDone = step + 1;
      const value = scalar(loss);
      checkLeak(before);
      return value;
    },
    metrics() {
      return optimizer.metrics?.(state) ?? {};
    },
    loss(step) {
      return scalar(tf.tidy(() => model.loss(model.params.values(), dataset.batch(step))));
    },
    evalLoss() {
      if (!dataset.evalBatch) return undefined;
      const batch = dataset.evalBatch();
      return scalar(tf.tidy(() => model.loss(model.params.values(), batch)));
    },
    target() {
      return {
        model,
        dataset,
        params: model.params,
        step: stepsDone,
        lossOn: (batch) => (values) => model.loss(values, batch),
        optimizerMetrics: () => optimizer.metrics?.(state) ?? {},
        optimizerHyperparameters: () => optimizer.hyperparameters?.() ?? {},
        lastUpdate: () => {
          if (!lastUpdates) return undefined;
          const flat = new Float64Array(trainable.size);
          let offset = 0;
          for (const u of lastUpdates) {
            flat.set(u.dataSync(), offset);
            offset += u.size;
          }
          return flat;
        },
        analysisBatch: () => {
          if (dataset.evalBatch) return dataset.evalBatch();
          if (cachedTrainBatch?.step !== stepsDone) {
            dropCachedBatch();
            // Kept, so that a caller's tf.tidy cannot dispose the cache; dropCachedBatch does.
            const batch = tf.tidy(
              () => dataset.batch(stepsDone) as unknown as tf.TensorContainer,
            ) as unknown as Batch;
            for (const t of tensorsIn(batch)) tf.keep(t);
            cachedTrainBatch = { step: stepsDone, batch };
          }
          return cachedTrainBatch.batch;
        },
      };
    },
    checkpoint() {
      const arrays: SessionCheckpoint['arrays'] = {};
      const save = (name: string, t: Tensor) => {
        if (t.dtype !== 'float32' && t.dtype !== 'int32') {
          throw new TdxError(
            'PLUGIN_CONTRACT',
            `cannot checkpoint a ${t.dtype} tensor (${name}); keep state as float32 or int32`,
          );
        }
        arrays[name] = {
          shape: t.shape,
          dtype: t.dtype,
          values: (t.dataSync() as Float32Array | Int32Array).slice(),
        };
      };
      for (const block of model.params.blocks) save(`param:${block.name}`, block.variable);
      let n = 0;
      // Optimizer state: tensors become references into `arrays`, the rest stays as it is.
      const encode = (x: unknown): unknown => {
        if (x instanceof tf.Tensor) {
          const name = `optimizer:${n++}`;
          save(name, x);
          return { $array: name };
        }
        if (Array.isArray(x)) return x.map(encode);
        if (x !== null && typeof x === 'object')
          return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, encode(v)]));
        return x;
      };
      return {
        arrays,
        state: { optimizer: encode(state), dataset: dataset.checkpoint?.() ?? null },
      };
    },
    restore(checkpoint, step) {
      const array = (name: string, shape: readonly number[]) => {
        const a = checkpoint.arrays[name];
        if (!a) throw new TdxError('CHECKPOINT_CORRUPT', `the checkpoint has no array "${name}"`);
        if (!tf.util.arraysEqual(a.shape, shape as number[]))
          throw new TdxError(
            'CHECKPOINT_CORRUPT',
            `array "${name}" has shape [${a.shape}], the run needs [${shape}]`,
          );
        return tf.tensor(a.values, a.shape, a.dtype);
      };
      for (const block of model.params.blocks) {
        tf.tidy(() => block.variable.assign(array(`param:${block.name}`, block.shape)));
      }
      const decode = (x: unknown): unknown => {
        if (x !== null && typeof x === 'object' && '$array' in x) {
          const a = checkpoint.arrays[(x as { $array: string }).$array];
          return tf.keep(array((x as { $array: string }).$array, a?.shape ?? []));
        }
        if (Array.isArray(x)) return x.map(decode);
        if (x !== null && typeof x === 'object')
          return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, decode(v)]));
        return x;
      };
      const saved = checkpoint.state as { optimizer: unknown; dataset: unknown };
      const restored = decode(saved.optimizer);
      disposeReplaced(state, restored);
      state = restored;
      if (saved.dataset !== null) dataset.restore?.(saved.dataset);
      stepsDone = step;
      dropCachedBatch();
      dropLastUpdates();
    },
    dispose() {
      dropCachedBatch();
      dropLastUpdates();

      for (const t of tensorsIn(state)) if (!t.isDisposed) t.dispose();
      model.dispose();
      dataset.dispose();
    },
  };
  return session;
}

export const minibatchTrainer = definePlugin({
  kind: 'trainer',
  name: 'minibatch',
  description:
    "one update per training batch: the batch loss's gradient through the optimizer, added to the trainable blocks",
  config: z.object({
    leakCheck: z.enum(['error', 'warn', 'off']).default('error'),
    trainable: z
      .array(paramSelectorSchema)
      .min(1)
      .optional()
      .describe(
        'Train only these blocks: roles (`[value]`, `[query, key, value]`) or selectors (`{ role, layer, name }`); the rest stay at their initial values. Default: every block.',
      ),
  }),
  create: (config): TrainerInstance => ({ start: (parts) => startMinibatchSession(parts, config) }),
});
