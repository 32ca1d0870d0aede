/**
 * `mlp`: a fully connected network, the baseline without attention: classification (softmax
 * cross-entropy, inputs flattened) when the dataset has classes, regression (mean squared
 * error) otherwise.
 */
import { definePlugin, z } from '@tdx/core';
import {
  meanSquaredError,
  ParamSet,
  Rng,
  softmaxCrossEntropy,
  tf,
  type Batch,
  type DatasetInfo,
  type Model,
  type ModelBuilder,
  type ParamValues,
  type Tensor,
} from '@tdx/tensor';
import { activate, activationConfig } from './activations.js';
import { constantInit, normalInit, type BlockInit } from './layers.js';
import { estimateMlp } from './estimates.js';

export const mlpConfig = z.object({
  hidden: z.array(z.number().int().positive()).default([64, 64]),
  activation: activationConfig.default('tanh'),
  initStd: z
    .number()
    .positive()
    .optional()
    .describe('Weight standard deviation; default 1/√fan_in.'),
});

export type MlpConfig = z.output<typeof mlpConfig>;

export function buildMlp(config: MlpConfig, info: DatasetInfo, seed: number): Model {
  const inputs = info.inputShape.reduce((a, b) => a * b, 1);
  const classes = typeof info.meta.classes === 'number' ? info.meta.classes : undefined;
  const outputs =
    classes ??
    Math.max(
      1,
      info.targetShape.reduce((a, b) => a * b, 1),
    );
  const rng = new Rng(seed);
  const sizes = [inputs, ...config.hidden, outputs];
  const specs: BlockInit[] = sizes.slice(1).flatMap((out, i) => {
    const isHead = i === sizes.length - 2;
    const name = isHead ? 'head' : `layers.${i}`;
    const std = config.initStd ?? 1 / Math.sqrt(sizes[i]!);
    return [
      {
        name: `${name}.weight`,
        role: isHead ? ('head' as const) : ('mlp' as const),
        ...(isHead ? {} : { layer: i }),
        init: normalInit(rng, [sizes[i]!, out], std),
      },
      {
        name: `${name}.bias`,
        role: 'bias' as const,
        ...(isHead ? {} : { layer: i }),
        init: constantInit([out], 0),
      },
    ];
  });
  const params = ParamSet.create(specs);
  const layers = config.hidden.length;

  const predict = (values: ParamValues, x: Tensor): Tensor =>
    tf.tidy(() => {
      let h = tf.reshape(x, [x.shape[0]!, inputs]);
      for (let i = 0; i < layers; i++)
        h = activate(
          tf.add(tf.matMul(h, values[`layers.${i}.weight`]!), values[`layers.${i}.bias`]!),
          config.activation,
        );
      return tf.add(tf.matMul(h, values['head.weight']!), values['head.bias']!);
    });

  return {
    params,
    predict,
    loss: (values: ParamValues, batch: Batch) =>
      tf.tidy(() => {
        const out = predict(values, batch.inputs);
        return classes !== undefined
          ? softmaxCrossEntropy(out, batch.targets)
          : meanSquaredError(out, tf.reshape(tf.cast(batch.targets, 'float32'), out.shape));
      }),
    dispose: () => params.dispose(),
  };
}

export const mlp = definePlugin({
  kind: 'model',
  name: 'mlp',
  description:
    'fully connected network (classification or regression), the baseline without attention',
  config: mlpConfig,
  create: (config, ctx): ModelBuilder => ({ build: (info) => buildMlp(config, info, ctx.seed) }),
  estimate: estimateMlp,
});
