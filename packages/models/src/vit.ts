/**
 * `vit`: a Vision Transformer classifier built from the same blocks as `gpt`: non-overlapping
 * P×P patches (cut with reshapes and one transpose, no convolution), a linear patch embedding,
 * a class token and learned positions, pre-LN blocks without a mask, a final LayerNorm and a
 * linear head on the class token; softmax cross-entropy.
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import {
  layerNorm,
  ParamSet,
  Rng,
  tf,
  type DatasetInfo,
  type Model,
  type ModelBuilder,
  type AttentionKernel,
  type ParamValues,
  type Tensor,
} from '@tdx/tensor';
import { kernelModel } from './kernels/attention.js';
import { softmaxKernel } from './kernels/softmax-kernel.js';

import { type BlockInit, constantInit, crossEntropyLoss, dense, normalInit } from './layers.js';
import { imageClassificationShape } from './tasks.js';
import { meanFieldParts, transformerBlockParams, transformerStack } from './transformer-block.js';
import { blockShape, headsDivideWidth, transformerFields } from './transformer-config.js';
import { estimateVit } from './estimates.js';

export const vitConfig = z
  .object({
    patch: z.number().int().positive().default(7),
    ...transformerFields,
  })
  .refine(...headsDivideWidth);

export type VitConfig = z.output<typeof vitConfig>;

/** [B, H, W, C] -> [B, (H/P)(W/P), P·P·C]: patches in row-major order, pixels row-major within. */
export function patchify(images: Tensor, patch: number): Tensor {
  const [B, H, W, C] = images.shape as [number, number, number, number];
  const rows = tf.reshape(images, [B * (H / patch), patch, W / patch, patch * C]);
  return tf.reshape(tf.transpose(rows, [0, 2, 1, 3]), [
    B,
    (H / patch) * (W / patch),
    patch * patch * C,
  ]);
}

export function buildVit(
  config: Omit<VitConfig, 'attention'>,
  info: DatasetInfo,
  seed: number,
  kernel: AttentionKernel = softmaxKernel({}),
): Model {
  const { height, width, channels, classes } = imageClassificationShape(info, 'vit');
  const P = config.patch;
  if (height % P !== 0 || width % P !== 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `vit: images of ${height}×${width} cannot be cut into ${P}×${P} patches`,
      {
        hint: `choose a patch size that divides both (e.g. ${[7, 4, 2, 1].find((p) => height % p === 0 && width % p === 0)})`,
      },
    );
  }
  const patches = (height / P) * (width / P);
  const D = config.width;
  const rng = new Rng(seed);
  const shape = blockShape(config);
  const specs: BlockInit[] = [
    {
      name: 'embed.patch',
      role: 'embedding',
      init: normalInit(rng, [P * P * channels, D], config.initStd),
    },
    { name: 'embed.patch.bias', role: 'bias', init: constantInit([D], 0) },
    { name: 'embed.class', role: 'embedding', init: normalInit(rng, [1, 1, D], config.initStd) },
    {
      name: 'embed.position',
      role: 'position',
      init: normalInit(rng, [patches + 1, D], config.initStd),
    },
    ...Array.from({ length: config.layers }, (_, l) =>
      transformerBlockParams(l, shape, rng, config.initStd),
    ).flat(),
    { name: 'norm.gain', role: 'norm', init: constantInit([D], 1) },
    { name: 'norm.bias', role: 'norm', init: constantInit([D], 0) },
    { name: 'head', role: 'head', init: normalInit(rng, [D, classes], config.initStd) },
    { name: 'head.bias', role: 'bias', init: constantInit([classes], 0) },
  ];
  const params = ParamSet.create(specs);

  const predict = (values: ParamValues, images: Tensor): Tensor =>
    tf.tidy(() => {
      const B = images.shape[0]!;
      const tokens = dense(patchify(images, P), values['embed.patch']!, values['embed.patch.bias']);
      const cls = tf.tile(values['embed.class']!, [B, 1, 1]);
      let x = tf.add(tf.concat([cls, tokens], 1), values['embed.position']!);
      x = transformerStack(x, values, shape, kernel);
      const first = tf.reshape(
        tf.slice(layerNorm(x, values['norm.gain'], values['norm.bias']), [0, 0, 0], [B, 1, D]),
        [B, D],
      );
      return dense(first, values.head!, values['head.bias']);
    });

  return {
    params,
    predict,
    ...meanFieldParts(shape),
    loss: crossEntropyLoss(predict),
    dispose: () => params.dispose(),
  };
}

export const vit = definePlugin({
  kind: 'model',
  name: 'vit',
  description:
    'Vision Transformer: P×P patch embedding, class token, pre-LN blocks as in gpt, linear head',
  config: vitConfig,
  create: (config, ctx): ModelBuilder => kernelModel(config, ctx, buildVit),
  estimate: estimateVit,
});
