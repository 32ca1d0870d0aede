/**
 * `cnn`: a small convolutional classifier, the block-homogeneous baseline of Zhang et al.
 *
 * Convolutions are written as im2col: pad, take the k×k shifted windows with slices, concatenate
 * them along channels and multiply by the kernel reshaped to [k·k·C_in, C_out]; pooling is a
 * reshape and a mean. TF.js's own conv2d and pooling are avoided on purpose: their gradient
 * kernels have no gradients (no Hessian-vector products), MaxPool's double backward throws,
 * and the wasm backend lacks Conv2DBackpropFilter. Slices, concats and matmuls are exact.
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import {
  ParamSet,
  Rng,
  tf,
  type DatasetInfo,
  type Model,
  type ModelBuilder,
  type ParamValues,
  type Tensor,
} from '@tdx/tensor';
import { activate, activationConfig } from './activations.js';
import { type BlockInit, constantInit, crossEntropyLoss, normalInit } from './layers.js';
import { imageClassificationShape } from './tasks.js';
import { estimateCnn } from './estimates.js';

export const cnnConfig = z.object({
  channels: z.array(z.number().int().positive()).min(1).default([8, 16]),
  kernel: z
    .number()
    .int()
    .positive()
    .refine((k) => k % 2 === 1, 'must be odd')
    .default(3)
    .describe("Odd kernel size ('same' padding)."),
  activation: activationConfig.default('tanh'),
  pool: z
    .number()
    .int()
    .positive()
    .default(2)
    .describe('Average pooling factor after each convolution (1: none).'),
});

export type CnnConfig = z.output<typeof cnnConfig>;

/** 'same' convolution of x [B, H, W, C] with weight [k·k·C, C_out], as im2col. */
export function convolve(x: Tensor, weight: Tensor, kernel: number): Tensor {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const r = (kernel - 1) / 2;
  const padded = tf.pad(x, [
    [0, 0],
    [r, r],
    [r, r],
    [0, 0],
  ]);
  const windows: Tensor[] = [];
  for (let di = 0; di < kernel; di++)
    for (let dj = 0; dj < kernel; dj++)
      windows.push(tf.slice(padded, [0, di, dj, 0], [B, H, W, C]));
  const columns = tf.reshape(tf.concat(windows, 3), [B * H * W, kernel * kernel * C]);
  return tf.reshape(tf.matMul(columns, weight), [B, H, W, weight.shape[1]!]);
}

/** Mean over non-overlapping p×p squares of x [B, H, W, C]. */
export function averagePool(x: Tensor, p: number): Tensor {
  if (p === 1) return x;
  const [B, H, W, C] = x.shape as [number, number, number, number];
  return tf.mean(tf.reshape(x, [B, H / p, p, W / p, p, C]), [2, 4]);
}

export function buildCnn(config: CnnConfig, info: DatasetInfo, seed: number): Model {
  const { height, width, channels, classes } = imageClassificationShape(info, 'cnn');
  const k = config.kernel;
  let [h, w] = [height, width];
  for (const [i] of config.channels.entries()) {
    if (h % config.pool !== 0 || w % config.pool !== 0) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `cnn: after layer ${i} the feature map is ${h}×${w}, which pooling by ${config.pool} cannot divide`,
        {
          hint: 'use fewer layers, pool: 1, or larger images',
        },
      );
    }
    [h, w] = [h / config.pool, w / config.pool];
  }
  const rng = new Rng(seed);
  const sizes = [channels, ...config.channels];
  const specs: BlockInit[] = [
    ...config.channels.flatMap((out, i) => [
      {
        name: `layers.${i}.kernel`,
        role: 'conv' as const,
        layer: i,
        init: normalInit(rng, [k * k * sizes[i]!, out], 1 / Math.sqrt(k * k * sizes[i]!)),
      },
      { name: `layers.${i}.bias`, role: 'bias' as const, layer: i, init: constantInit([out], 0) },
    ]),
    {
      name: 'head.weight',
      role: 'head',
      init: normalInit(
        rng,
        [h * w * config.channels.at(-1)!, classes],
        1 / Math.sqrt(h * w * config.channels.at(-1)!),
      ),
    },
    { name: 'head.bias', role: 'bias', init: constantInit([classes], 0) },
  ];
  const params = ParamSet.create(specs);

  const predict = (values: ParamValues, images: Tensor): Tensor =>
    tf.tidy(() => {
      let x = images;
      for (let i = 0; i < config.channels.length; i++) {
        x = averagePool(
          activate(
            tf.add(convolve(x, values[`layers.${i}.kernel`]!, k), values[`layers.${i}.bias`]!),
            config.activation,
          ),
          config.pool,
        );
      }
      return tf.add(
        tf.matMul(tf.reshape(x, [x.shape[0]!, -1]), values['head.weight']!),
        values['head.bias']!,
      );
    });

  return {
    params,
    predict,
    loss: crossEntropyLoss(predict),
    dispose: () => params.dispose(),
  };
}

export const cnn = definePlugin({
  kind: 'model',
  name: 'cnn',
  description:
    'small convolutional classifier, convolutions as im2col so that Hessian-vector products are exact',
  config: cnnConfig,
  create: (config, ctx): ModelBuilder => ({ build: (info) => buildCnn(config, info, ctx.seed) }),
  estimate: estimateCnn,
});
