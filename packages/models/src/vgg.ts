/**
 * `vgg`: a plain convolutional stack (Simonyan & Zisserman 2015), the second CNN of Zhang et
 * al. (2024) at `size: paper` (VGG16, configuration D, without batch norm).
 *
 * Stages of 3×3 'same' convolutions with biases, each followed by ReLU, each stage ending in
 * a 2×2 pool at stride 2 (max by default; rows and columns that do not fill a square are
 * dropped, as PyTorch's MaxPool2d(2) floors); then the feature map is flattened and passed
 * through dense layers with ReLU (`hidden`, VGG16: 4096, 4096; no dropout) and a linear head;
 * softmax cross-entropy. No normalisation and no residual connections: the homogeneous
 * baseline. Each convolution and each dense matrix is one block (role `conv`, `mlp`, `head`),
 * every bias its own (role `bias`). Convolutions are im2col with slices (conv.ts), pooling a
 * reshape and a Max: exact second derivatives on every backend (Max's gradient goes to the
 * window's maximum; ties, which random data do not produce, would share it).
 *
 * Initialisation: He normal (std √(2/fan_in)) for every layer followed by ReLU, 1/√fan_in
 * for the head, biases zero. (torchvision: He normal with fan_out for convolutions, N(0, 0.01)
 * for the dense layers.)
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
import { averagePool } from './cnn.js';
import { conv2d, maxPoolSquares } from './conv.js';
import { estimateFromConvShapes } from './estimates.js';
import { crossEntropyLoss } from './layers.js';
import { type ParameterShape, initBlocks } from './parameter-shapes.js';
import { VGG_SIZES, sized } from './sizes.js';
import { imageClassificationShape } from './tasks.js';

const positive = () => z.number().int().positive();

export const vggConfig = sized(
  z.object({
    /** Output channels of each convolution, stage by stage; every stage ends in a 2×2 pool. */
    stages: z
      .array(z.array(positive()).min(1))
      .min(1)
      .default([
        [8, 8],
        [16, 16],
        [32, 32],
      ]),
    /** Widths of the dense layers between the flattened features and the head. */
    hidden: z.array(positive()).default([64]),
    /** Kernel size of every convolution (odd; 'same' padding). */
    kernel: positive()
      .refine((k) => k % 2 === 1, 'must be odd')
      .default(3),
    /** The pool ending each stage: `max` (VGG's) or `average`. */
    pool: z.enum(['max', 'average']).default('max'),
    activation: activationConfig.default('relu'),
  }),
  VGG_SIZES,
);

export type VggConfig = z.output<typeof vggConfig>;

/** The feature map after the stages: each pool halves it, rounding down. */
function featureMap(config: VggConfig, height: number, width: number): [number, number] {
  let [h, w] = [height, width];
  for (const [s] of config.stages.entries()) {
    if (h < 2 || w < 2 || (config.pool === 'average' && (h % 2 !== 0 || w % 2 !== 0))) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `vgg: stage ${s} gets a ${h}×${w} feature map, which its 2×2 ${config.pool} pool cannot halve`,
        {
          hint:
            config.pool === 'average'
              ? 'average pooling needs even sizes: use pool: max (it drops the odd row), fewer stages or larger images'
              : 'use fewer stages or larger images',
        },
      );
    }
    [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
  }
  return [h, w];
}

/** Every parameter block's name, role and shape, in initialisation order, without allocating. */
export function vggShapes(config: VggConfig, info: DatasetInfo): ParameterShape[] {
  const { height, width, channels, classes } = imageClassificationShape(info, 'vgg');
  const [h, w] = featureMap(config, height, width);
  const k = config.kernel;
  const shapes: ParameterShape[] = [];
  let cin = channels;
  let layer = 0;
  config.stages.forEach((widths, s) =>
    widths.forEach((cout, c) => {
      const name = `stages.${s}.${c}.conv`;
      shapes.push(
        {
          name,
          role: 'conv',
          layer,
          shape: [k * k * cin, cout],
          init: { kind: 'normal', std: Math.sqrt(2 / (k * k * cin)) },
        },
        { name: `${name}.bias`, role: 'bias', layer, shape: [cout], init: { kind: 'zeros' } },
      );
      cin = cout;
      layer++;
    }),
  );
  let features = h * w * cin;
  config.hidden.forEach((out, i) => {
    shapes.push(
      {
        name: `dense.${i}.weight`,
        role: 'mlp',
        layer: layer,
        shape: [features, out],
        init: { kind: 'normal', std: Math.sqrt(2 / features) },
      },
      { name: `dense.${i}.bias`, role: 'bias', layer, shape: [out], init: { kind: 'zeros' } },
    );
    features = out;
    layer++;
  });
  shapes.push(
    {
      name: 'head.weight',
      role: 'head',
      shape: [features, classes],
      init: { kind: 'normal', std: 1 / Math.sqrt(features) },
    },
    { name: 'head.bias', role: 'bias', shape: [classes], init: { kind: 'zeros' } },
  );
  return shapes;
}

export function buildVgg(config: VggConfig, info: DatasetInfo, seed: number): Model {
  const params = ParamSet.create(initBlocks(vggShapes(config, info), new Rng(seed)));
  const act = (x: Tensor) => activate(x, config.activation);

  const predict = (values: ParamValues, images: Tensor): Tensor =>
    tf.tidy(() => {
      let x = images;
      config.stages.forEach((widths, s) => {
        widths.forEach((_, c) => {
          const name = `stages.${s}.${c}.conv`;
          x = act(tf.add(conv2d(x, values[name]!, config.kernel), values[`${name}.bias`]!));
        });
        x = config.pool === 'max' ? maxPoolSquares(x, 2) : averagePool(x, 2);
      });
      let h = tf.reshape(x, [x.shape[0]!, -1]);
      config.hidden.forEach((_, i) => {
        h = act(tf.add(tf.matMul(h, values[`dense.${i}.weight`]!), values[`dense.${i}.bias`]!));
      });
      return tf.add(tf.matMul(h, values['head.weight']!), values['head.bias']!);
    });

  return {
    params,
    predict,
    loss: crossEntropyLoss(predict),
    dispose: () => params.dispose(),
  };
}

export const vgg = definePlugin({
  kind: 'model',
  name: 'vgg',
  description:
    'plain CNN: stages of 3×3 convolutions and ReLU ending in 2×2 max pools, dense layers, linear head (VGG16 at size: paper); convolutions as im2col',
  config: vggConfig,
  // Shapes come from the dataset's estimate, which has a DatasetInfo's fields.
  estimate: (config, ctx) =>
    ctx.dataset?.data?.task === 'image-classification'
      ? estimateFromConvShapes(vggShapes(config, ctx.dataset.data), ctx)
      : {},
  create: (config, ctx): ModelBuilder => ({ build: (info) => buildVgg(config, info, ctx.seed) }),
});
