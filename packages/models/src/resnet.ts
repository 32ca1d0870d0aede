/**
 * `resnet`: a residual convolutional classifier with basic blocks (He et al. 2016), the CNN of
 * Zhang et al. (2024) at `size: paper` (ResNet18).
 *
 * Stem: a k×k convolution at stride s, normalisation, ReLU, and optionally a 3×3 max pool at
 * stride 2 (ResNet18 on ImageNet: k = 7, s = 2, pool). Stages: stage i has width·2^i channels
 * and `blocks[i]` basic blocks (conv3×3 → norm → ReLU → conv3×3 → norm, plus the shortcut,
 * then ReLU); the first block of every stage after the first halves the feature map with
 * stride 2. Where the shape changes, the shortcut is a 1×1 convolution at that stride followed
 * by normalisation (torchvision's projection shortcut, option B); elsewhere the identity.
 * Then a global average pool and a linear head; softmax cross-entropy.
 *
 * Normalisation (`norm`):
 * - `batch` (default): batch normalisation with the statistics of the batch at hand, always,
 *   as PyTorch's BatchNorm2d in training mode, and no running averages at all. Batch norm's
 *   running statistics would make the Hessian depend on the mode (train or eval) and on the
 *   history of the run; here the loss is one function of the parameters and the batch, the
 *   same for training, evaluation and Hessian-vector products, whose Hessian couples the
 *   examples of the batch (the loss is not a sum over examples).
 * - `group`: group normalisation (`groups` groups of channels per example), no coupling.
 * - `none`: no normalisation; convolutions get biases instead.
 * Normalisation gains and biases are blocks of role `norm`; convolutions (no bias when
 * normalised, as in torchvision) are blocks of role `conv`, one per layer.
 *
 * Convolutions are im2col with slices (conv.ts): exact second derivatives on every backend.
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
import { batchNorm, conv2d, globalAveragePool, groupNorm, maxPool2d } from './conv.js';
import { estimateFromConvShapes } from './estimates.js';
import { crossEntropyLoss } from './layers.js';
import { type ParameterShape, initBlocks } from './parameter-shapes.js';
import { RESNET_SIZES, sized } from './sizes.js';
import { imageClassificationShape } from './tasks.js';

const positive = () => z.number().int().positive();

export const resnetConfig = sized(
  z.object({
    /** Channels of the stem and of the first stage; stage i has width·2^i. */
    width: positive().default(8),
    /** Basic blocks per stage; every stage after the first halves the feature map. */
    blocks: z.array(positive()).min(1).default([1, 1, 1]),
    /** The stem's kernel size (odd; ResNet18: 7). */
    stemKernel: positive()
      .refine((k) => k % 2 === 1, 'must be odd')
      .default(3),
    /** The stem's stride (ResNet18: 2). */
    stemStride: positive().default(1),
    /** A 3×3 max pool at stride 2 after the stem (ResNet18 on ImageNet). */
    stemPool: z.boolean().default(false),
    /** `batch` (train-mode batch statistics, always), `group`, or `none` (see resnet.ts). */
    norm: z.enum(['batch', 'group', 'none']).default('batch'),
    /** Groups of channels for `norm: group`; must divide every stage's width. */
    groups: positive().default(4),
    activation: activationConfig.default('relu'),
  }),
  RESNET_SIZES,
);

export type ResnetConfig = z.output<typeof resnetConfig>;

interface Block {
  prefix: string;
  layer: number;
  stride: number;
  projection: boolean;
}

/** The residual blocks in order: name prefix, stride, and whether the shortcut projects. */
function residualBlocks(config: ResnetConfig): Block[] {
  const out: Block[] = [];
  let channels = config.width;
  let layer = 0;
  config.blocks.forEach((count, s) => {
    const width = config.width * 2 ** s;
    for (let b = 0; b < count; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      out.push({
        prefix: `stages.${s}.${b}`,
        layer: layer++,
        stride,
        projection: stride !== 1 || channels !== width,
      });
      channels = width;
    }
  });
  return out;
}

const stageWidth = (config: ResnetConfig, prefix: string) =>
  config.width * 2 ** Number(prefix.split('.')[1]);

/**
 * Every parameter block's name, role and shape, in initialisation order, without allocating:
 * what `build` creates, and what parameter counts of large presets are computed from.
 */
export function resnetShapes(config: ResnetConfig, info: DatasetInfo): ParameterShape[] {
  const { channels, classes } = imageClassificationShape(info, 'resnet');
  const shapes: ParameterShape[] = [];
  const conv = (name: string, k: number, cin: number, cout: number, layer?: number) => {
    shapes.push({
      name,
      role: 'conv',
      ...(layer === undefined ? {} : { layer }),
      shape: [k * k * cin, cout],
      init: { kind: 'normal', std: Math.sqrt(2 / (k * k * cin)) },
    });
    normalisation(name, cout, layer);
  };
  // After a convolution: gain and bias of its normalisation, or its own bias.
  const normalisation = (conv: string, c: number, layer?: number) => {
    const at = layer === undefined ? {} : { layer };
    const base = conv.replace(/conv(\d?)$/, 'norm$1');
    if (config.norm === 'none')
      shapes.push({
        name: `${conv}.bias`,
        role: 'bias',
        ...at,
        shape: [c],
        init: { kind: 'zeros' },
      });
    else
      shapes.push(
        { name: `${base}.gain`, role: 'norm', ...at, shape: [c], init: { kind: 'ones' } },
        { name: `${base}.bias`, role: 'norm', ...at, shape: [c], init: { kind: 'zeros' } },
      );
  };
  conv('stem.conv', config.stemKernel, channels, config.width);
  let cin = config.width;
  for (const block of residualBlocks(config)) {
    const cout = stageWidth(config, block.prefix);
    conv(`${block.prefix}.conv1`, 3, cin, cout, block.layer);
    conv(`${block.prefix}.conv2`, 3, cout, cout, block.layer);
    if (block.projection) conv(`${block.prefix}.shortcut.conv`, 1, cin, cout, block.layer);
    cin = cout;
  }
  shapes.push(
    {
      name: 'head.weight',
      role: 'head',
      shape: [cin, classes],
      init: { kind: 'normal', std: 1 / Math.sqrt(cin) },
    },
    { name: 'head.bias', role: 'bias', shape: [classes], init: { kind: 'zeros' } },
  );
  return shapes;
}

/** Group norm's groups must divide every stage's width. */
function checkGroups(config: ResnetConfig): void {
  if (config.norm === 'group') {
    const bad = config.blocks
      .map((_, s) => config.width * 2 ** s)
      .find((c) => c % config.groups !== 0);
    if (bad !== undefined)
      throw new TdxError(
        'INVALID_ARGUMENT',
        `resnet: ${bad} channels cannot be split into ${config.groups} groups`,
        { hint: 'choose groups dividing width (a power of two, say)' },
      );
  }
}

export function buildResnet(config: ResnetConfig, info: DatasetInfo, seed: number): Model {
  checkGroups(config);
  const params = ParamSet.create(initBlocks(resnetShapes(config, info), new Rng(seed)));
  const blocks = residualBlocks(config);
  const act = (x: Tensor) => activate(x, config.activation);

  const predict = (values: ParamValues, images: Tensor): Tensor =>
    tf.tidy(() => {
      // A convolution, then its normalisation (or its bias).
      const convNorm = (x: Tensor, name: string, k: number, stride: number) => {
        const y = conv2d(x, values[name]!, k, stride, (k - 1) / 2);
        if (config.norm === 'none') return tf.add(y, values[`${name}.bias`]!);
        const base = name.replace(/conv(\d?)$/, 'norm$1');
        const [gain, bias] = [values[`${base}.gain`]!, values[`${base}.bias`]!];
        return config.norm === 'batch'
          ? batchNorm(y, gain, bias)
          : groupNorm(y, gain, bias, config.groups);
      };
      let x = act(convNorm(images, 'stem.conv', config.stemKernel, config.stemStride));
      if (config.stemPool) x = maxPool2d(x, 3, 2, 1);
      for (const b of blocks) {
        const h = act(convNorm(x, `${b.prefix}.conv1`, 3, b.stride));
        const main = convNorm(h, `${b.prefix}.conv2`, 3, 1);
        const shortcut = b.projection ? convNorm(x, `${b.prefix}.shortcut.conv`, 1, b.stride) : x;
        x = act(tf.add(main, shortcut));
      }
      return tf.add(tf.matMul(globalAveragePool(x), values['head.weight']!), values['head.bias']!);
    });

  return {
    params,
    predict,
    loss: crossEntropyLoss(predict),
    dispose: () => params.dispose(),
  };
}

export const resnet = definePlugin({
  kind: 'model',
  name: 'resnet',
  description:
    'residual CNN with basic blocks and projection shortcuts (ResNet18 at size: paper), batch norm on batch statistics, convolutions as im2col',
  config: resnetConfig,
  // Shapes come from the dataset's estimate, which has a DatasetInfo's fields.
  estimate: (config, ctx) =>
    ctx.dataset?.data?.task === 'image-classification'
      ? estimateFromConvShapes(resnetShapes(config, ctx.dataset.data), ctx)
      : {},
  create: (config, ctx): ModelBuilder => ({
    build: (info) => buildResnet(config, info, ctx.seed),
  }),
});
