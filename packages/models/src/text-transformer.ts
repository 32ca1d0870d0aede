/**
 * `text-transformer`: an encoder Transformer classifier for token sequences, the model of Song
 * et al. (2024)'s text classification experiments: token and learned position embeddings,
 * pre-LN blocks as in `gpt` (separate q/k/v/o, GELU MLP) whose attention masks the padding
 * keys, mean pooling over the real tokens, a final LayerNorm and a linear head; softmax
 * cross-entropy. The attention kernel is a plugin (`attention`, default softmax).
 *
 * Padding (the dataset's `meta.padId`, default 0) is invisible: no real token attends to it and
 * the pooling skips it, so appending padding leaves the prediction unchanged. A sequence of
 * padding only gives finite logits (those of a zero pooled vector).
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import {
  embedding,
  layerNorm,
  ParamSet,
  Rng,
  tf,
  type AttentionKernel,
  type DatasetInfo,
  type Model,
  type ModelBuilder,
  type ParamValues,
  type Tensor,
} from '@tdx/tensor';
import { kernelModel } from './kernels/attention.js';
import { softmaxKernel } from './kernels/softmax-kernel.js';
import { type BlockInit, constantInit, crossEntropyLoss, dense, normalInit } from './layers.js';
import { meanFieldParts, transformerBlockParams, transformerStack } from './transformer-block.js';
import { blockShape, headsDivideWidth, transformerFields } from './transformer-config.js';
import { estimateTextTransformer } from './estimates.js';

export const textTransformerConfig = z.object({ ...transformerFields }).refine(...headsDivideWidth);

export type TextTransformerConfig = z.output<typeof textTransformerConfig>;

/** What a text-classification dataset must give: int32 tokens [B, T], labels [B], V and C. */
export function textClassificationShape(
  info: DatasetInfo,
  model: string,
): { length: number; vocabulary: number; classes: number; padId: number } {
  const { vocabulary, classes, padId = 0 } = info.meta;
  if (
    info.task !== 'text-classification' ||
    info.inputShape.length !== 1 ||
    typeof vocabulary !== 'number' ||
    typeof classes !== 'number' ||
    typeof padId !== 'number'
  ) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${model} needs a text-classification dataset (token sequences, a vocabulary and classes), but "${info.task}" gives inputs [${info.inputShape}]`,
      {
        hint: 'use it with spam-assassin, or a dataset whose info says task: text-classification, inputShape [length] and meta.vocabulary, meta.classes (meta.padId, default 0)',
      },
    );
  }
  return { length: info.inputShape[0]!, vocabulary, classes, padId };
}

/**
 * 1 for real tokens, 0 for padding, [B, T] float32; and the keys each query may see,
 * [B, 1, 1, T]. A sequence of padding only lets every key through, so that no attention row is
 * entirely masked (a kernel may divide by its row sum); the pooling ignores that sequence anyway.
 */
export function paddingMasks(tokens: Tensor, padId: number): { real: Tensor; allowed: Tensor } {
  return tf.tidy(() => {
    const [B, T] = tokens.shape as [number, number];
    const real = tf.sub(1, tf.cast(tf.equal(tokens, padId), 'float32'));
    const empty = tf.sub(1, tf.max(real, 1, true));
    return { real, allowed: tf.reshape(tf.add(real, empty), [B, 1, 1, T]) };
  });
}

/** Mean of x [B, T, D] over the tokens where `real` [B, T] is 1; zero for none. */
export function maskedMean(x: Tensor, real: Tensor): Tensor {
  return tf.tidy(() => {
    const total = tf.sum(tf.mul(x, tf.expandDims(real, -1)), 1);
    return tf.div(total, tf.maximum(tf.sum(real, 1, true), 1));
  });
}

export function buildTextTransformer(
  config: Omit<TextTransformerConfig, 'attention'>,
  info: DatasetInfo,
  seed: number,
  kernel: AttentionKernel = softmaxKernel({}),
): Model {
  const {
    length,
    vocabulary: V,
    classes,
    padId,
  } = textClassificationShape(info, 'text-transformer');
  const D = config.width;
  const rng = new Rng(seed);
  const shape = blockShape(config);
  const specs: BlockInit[] = [
    { name: 'embed.token', role: 'embedding', init: normalInit(rng, [V, D], config.initStd) },
    {
      name: 'embed.position',
      role: 'position',
      init: normalInit(rng, [length, D], config.initStd),
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

  const predict = (values: ParamValues, tokens: Tensor): Tensor =>
    tf.tidy(() => {
      const t = tokens.shape[1]!;
      if (tokens.rank !== 2 || t > length) {
        throw new TdxError(
          'SHAPE_MISMATCH',
          `text-transformer takes tokens [batch, ≤ ${length}], got [${tokens.shape}]`,
        );
      }
      const { real, allowed } = paddingMasks(tokens, padId);
      const positions = tf.slice(values['embed.position']!, [0, 0], [t, D]);
      let x = tf.add(embedding(values['embed.token']!, tokens), positions);
      x = transformerStack(x, values, shape, kernel, allowed);
      const pooled = layerNorm(maskedMean(x, real), values['norm.gain'], values['norm.bias']);
      return dense(pooled, values.head!, values['head.bias']);
    });

  return {
    params,
    predict,
    ...meanFieldParts(shape),
    loss: crossEntropyLoss(predict),
    dispose: () => params.dispose(),
  };
}

export const textTransformer = definePlugin({
  kind: 'model',
  name: 'text-transformer',
  description:
    'encoder Transformer classifier for token sequences: embeddings, pre-LN blocks as in gpt with a padding mask, mean pooling over real tokens, linear head; attention: any kernel (default softmax)',
  config: textTransformerConfig,
  create: (config, ctx): ModelBuilder => kernelModel(config, ctx, buildTextTransformer),
  estimate: estimateTextTransformer,
});
