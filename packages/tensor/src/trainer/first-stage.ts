/**
 * A first training stage before the run (Song et al. NeurIPS 2024's "two-stage training": the
 * landscapes they draw differ only in the attention kernel of the second stage). With
 * `firstSteps`, the minibatch trainer first trains `firstModel` (the run's architecture with,
 * say, softmax attention; absent: the run's model itself) with `firstOptimizer` (absent: the
 * run's) on `firstTrainable` blocks (absent: all) for firstSteps updates on the run's dataset,
 * then starts the run's model from the parameters where that stage ended. Runs that differ only
 * in the run's model therefore share their first stage exactly (same seed, data and backend).
 *
 * The first stage runs inside `start`, before the run's step 0: the run's steps, metrics and
 * analyses are the second stage's, and step 0 is where the first stage ended. Every block is
 * copied (trainable in the second stage or not), checked by name and shape, before the second
 * stage's optimizer state is made from the parameters. A run resumed from a checkpoint runs the
 * first stage again (its result is then replaced by the checkpoint's parameters).
 */
import { TdxError, type TrainerParts } from '@tdx/core';
import { asDataset, asModelBuilder, type Dataset } from '../contracts.js';
import type { ParamSet } from '../param-set.js';
import type { ParamSelectorConfig } from '../param-selector-config.js';
import { tf } from '../tf.js';
import type { MinibatchSession, MinibatchTrainerConfig } from './minibatch-trainer.js';

/** The parameters where the first stage ended, by block name, on the host. */
export type FirstStageParameters = Map<string, { shape: readonly number[]; values: Float32Array }>;

export interface FirstStageConfig {
  firstSteps: number;
  /** A model plugin's instance (a builder); absent: the run's model. */
  firstModel?: unknown;
  /** An optimizer plugin's instance; absent: the run's. */
  firstOptimizer?: unknown;
  firstTrainable?: ParamSelectorConfig[] | undefined;
  leakCheck: MinibatchTrainerConfig['leakCheck'];
}

/** The session starter (startMinibatchSession), passed in so that this file imports no code of it. */
type Start = (
  parts: Omit<TrainerParts, 'steps'> & { steps?: number },
  config: MinibatchTrainerConfig,
) => MinibatchSession;

/** The dataset for the first stage: the run's own, which that stage must not dispose. */
function borrowed(dataset: Dataset): Dataset {
  return {
    info: dataset.info,
    batch: (step) => dataset.batch(step),
    ...(dataset.evalBatch ? { evalBatch: () => dataset.evalBatch!() } : {}),
    dispose: () => {},
  };
}

/** Trains the first stage and returns where it ended; its model and state are released. */
export function trainFirstStage(
  parts: Omit<TrainerParts, 'steps'>,
  config: FirstStageConfig,
  start: Start,
): FirstStageParameters {
  const session = start(
    {
      dataset: borrowed(asDataset(parts.dataset)),
      // A model plugin's instance is a builder: building the run's again gives a fresh model.
      model: config.firstModel ?? asModelBuilder(parts.model),
      optimizer: config.firstOptimizer ?? parts.optimizer,
      seed: parts.seed,
      steps: config.firstSteps,
    },
    { leakCheck: config.leakCheck, trainable: config.firstTrainable },
  );
  try {
    for (let t = 0; t < config.firstSteps; t++) {
      const loss = session.step(t);
      if (!Number.isFinite(loss))
        throw new TdxError(
          'INVALID_ARGUMENT',
          `the first training stage's loss is ${loss} at its step ${t}`,
          { hint: "lower the first stage's learning rate (firstOptimizer) or firstSteps" },
        );
    }
    return new Map(
      session
        .target()
        .params.blocks.map((b) => [
          b.name,
          { shape: b.shape, values: Float32Array.from(b.variable.dataSync()) },
        ]),
    );
  } finally {
    session.dispose();
  }
}

/** Writes the first stage's parameters into the run's model, block by block. */
export function startFromFirstStage(params: ParamSet, first: FirstStageParameters): void {
  const names = params.blocks.map((b) => b.name);
  const missing = names.filter((n) => !first.has(n));
  const extra = [...first.keys()].filter((n) => !names.includes(n));
  if (missing.length > 0 || extra.length > 0)
    throw new TdxError(
      'SHAPE_MISMATCH',
      `the first training stage's model has blocks ${[...first.keys()].join(', ')}, the run's model ${names.join(', ')}`,
      { hint: "firstModel must be the run's architecture (it may differ in its attention kernel)" },
    );
  for (const b of params.blocks) {
    const saved = first.get(b.name)!;
    if (saved.shape.join(',') !== b.shape.join(','))
      throw new TdxError(
        'SHAPE_MISMATCH',
        `block "${b.name}" is [${saved.shape}] after the first training stage, [${b.shape}] in the run's model`,
        { hint: "firstModel must have the sizes of the run's model" },
      );
    tf.tidy(() => b.variable.assign(tf.tensor(saved.values, b.shape as number[], 'float32')));
  }
}
