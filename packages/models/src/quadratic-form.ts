/**
 * `quadratic-form`: f(w) = ½ wᵀHw − hᵀw, for the `quadratic` dataset (H, h and the minimiser w*
 * are its batch), with one parameter block per block of H, so that per-block learning rates
 * and blockwise spectra apply. The loss is the suboptimality f(w) − f* = ½(w − w*)ᵀH(w − w*),
 * written this way because it stays ≥ 0 and accurate in float32 down to tiny values (the
 * expanded form cancels to rounding noise near the optimum); its gradient is H(w − w*) = Hw − h.
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import {
  ParamSet,
  Rng,
  tf,
  type Batch,
  type DatasetInfo,
  type Model,
  type ModelBuilder,
  type ParamValues,
  type Tensor,
} from '@tdx/tensor';
import { estimateQuadraticForm } from './estimates.js';

export const quadraticFormConfig = z.object({
  initStd: z
    .number()
    .nonnegative()
    .default(1)
    .describe('Standard deviation of the normal initialisation of w.'),
});

export function buildQuadraticForm(
  config: z.output<typeof quadraticFormConfig>,
  info: DatasetInfo,
  seed: number,
): Model {
  if (info.task !== 'quadratic' || typeof info.meta.blockSizes !== 'string') {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `quadratic-form needs the quadratic dataset, not "${info.task}"`,
    );
  }
  const sizes = info.meta.blockSizes.split(',').map(Number);
  const rng = new Rng(seed);
  const params = ParamSet.create(
    sizes.map((size, b) => ({
      name: `block.${b}`,
      role: 'other' as const,
      layer: b,
      init: { values: rng.normalArray(size, 0, config.initStd), shape: [size] },
    })),
  );
  const names = sizes.map((_, b) => `block.${b}`);
  const value = (values: ParamValues, batch: Batch): Tensor => {
    const w = tf.concat(names.map((n) => values[n]!));
    const H = tf.reshape(batch.inputs, batch.inputs.shape.slice(1));
    const minimiser = tf.reshape(tf.slice(batch.targets, [0, 1, 0], [1, 1, -1]), [-1]);
    const e = tf.sub(w, minimiser);
    const He = tf.reshape(tf.matMul(H, tf.reshape(e, [-1, 1])), [-1]);
    return tf.mul(0.5, tf.sum(tf.mul(e, He)));
  };
  return {
    params,
    predict: (values, inputs) =>
      tf.tidy(() => value(values, { inputs, targets: tf.zeros([1, 2, inputs.shape[1]!]) })),
    loss: (values, batch) => tf.tidy(() => value(values, batch) as tf.Scalar),
    dispose: () => params.dispose(),
  };
}

export const quadraticForm = definePlugin({
  kind: 'model',
  name: 'quadratic-form',
  description:
    'the suboptimality ½(w − w*)ᵀH(w − w*) of the quadratic dataset, one parameter block per block of H',
  config: quadraticFormConfig,
  create: (config, ctx): ModelBuilder => ({
    build: (info) => buildQuadraticForm(config, info, ctx.seed),
  }),
  estimate: estimateQuadraticForm,
});
