/**
 * `quadratic-form`: f(w) = ½ wᵀHw − hᵀw − f*, for the `quadratic` dataset (H and h are its
 * batch), with one parameter block per block of H, so that per-block learning rates and
 * blockwise spectra apply. The loss is the suboptimality f(w) − f* ≥ 0 (f* from the dataset),
 * so it can be drawn on a log scale; its gradient is Hw − h.
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

export const quadraticFormConfig = z.object({
  /** Standard deviation of the normal initialisation of w. */
  initStd: z.number().nonnegative().default(1),
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
  const optimum = Number(info.meta.optimum ?? 0);
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
    const h = tf.reshape(batch.targets, [-1]);
    const Hw = tf.reshape(tf.matMul(H, tf.reshape(w, [-1, 1])), [-1]);
    return tf.sub(tf.sub(tf.mul(0.5, tf.sum(tf.mul(w, Hw))), tf.sum(tf.mul(h, w))), optimum);
  };
  return {
    params,
    predict: (values, inputs) =>
      tf.tidy(() => value(values, { inputs, targets: tf.zeros([1, inputs.shape[1]!]) })),
    loss: (values, batch) => tf.tidy(() => value(values, batch) as tf.Scalar),
    dispose: () => params.dispose(),
  };
}

export const quadraticForm = definePlugin({
  kind: 'model',
  name: 'quadratic-form',
  description:
    'f(w) = ½wᵀHw − hᵀw − f* over the quadratic dataset, one parameter block per block of H',
  config: quadraticFormConfig,
  create: (config, ctx): ModelBuilder => ({
    build: (info) => buildQuadraticForm(config, info, ctx.seed),
  }),
});
