/**
 * `gpt`: a decoder-only softmax Transformer, as the GPT of bench/reference/pytorch_workloads.py
 * and Zhang et al.'s GPT-2 setting: token and learned position embeddings, pre-LayerNorm blocks
 * with separate query/key/value/output projections (so each is its own Hessian block) and a GELU
 * MLP, a causal mask, a final LayerNorm and a linear head (or the token embedding, tied);
 * next-token cross-entropy. The attention kernel is a plugin (`attention`, default softmax).
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import {
  embedding,
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

import {
  type BlockInit,
  causalMask,
  constantInit,
  crossEntropyLoss,
  dense,
  normalInit,
} from './layers.js';
import { meanFieldParts, transformerBlockParams, transformerStack } from './transformer-block.js';
import { blockShape, headsDivideWidth, transformerFields } from './transformer-config.js';
import { estimateGpt } from './estimates.js';

export const gptConfig = z
  .object({
    ...transformerFields,
    tiedHead: z
      .boolean()
      .default(false)
      .describe('Use the token embedding (transposed) as the output layer.'),
    maxLength: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Longest sequence the position embedding covers; default: the dataset's length."),
  })
  .refine(...headsDivideWidth);

export type GptConfig = z.output<typeof gptConfig>;

/** What a language-modelling dataset must give: int32 tokens [B, T] and next tokens [B, T]. */
export function languageModellingShape(
  info: DatasetInfo,
  model: string,
): { length: number; vocabulary: number } {
  const vocabulary = info.meta.vocabulary;
  if (
    info.task !== 'language-modelling' ||
    info.inputShape.length !== 1 ||
    typeof vocabulary !== 'number'
  ) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${model} needs a language-modelling dataset (token sequences and a vocabulary), but "${info.task}" gives inputs [${info.inputShape}]`,
      {
        hint: 'use it with markov-text, or a dataset whose info says task: language-modelling and meta.vocabulary',
      },
    );
  }
  return { length: info.inputShape[0]!, vocabulary };
}

export function buildGpt(
  config: Omit<GptConfig, 'attention'>,
  info: DatasetInfo,
  seed: number,
  kernel: AttentionKernel = softmaxKernel({}),
): Model {
  const { length, vocabulary: V } = languageModellingShape(info, 'gpt');
  const T = config.maxLength ?? length;
  if (T < length)
    throw new TdxError(
      'INVALID_ARGUMENT',
      `maxLength ${T} is shorter than the dataset's sequences (${length})`,
    );
  const D = config.width;
  const rng = new Rng(seed);
  const shape = blockShape(config);
  const specs: BlockInit[] = [
    { name: 'embed.token', role: 'embedding', init: normalInit(rng, [V, D], config.initStd) },
    { name: 'embed.position', role: 'position', init: normalInit(rng, [T, D], config.initStd) },
    ...Array.from({ length: config.layers }, (_, l) =>
      transformerBlockParams(l, shape, rng, config.initStd),
    ).flat(),
    { name: 'norm.gain', role: 'norm', init: constantInit([D], 1) },
    { name: 'norm.bias', role: 'norm', init: constantInit([D], 0) },
    ...(config.tiedHead
      ? []
      : [
          { name: 'head', role: 'head' as const, init: normalInit(rng, [D, V], config.initStd) },
          { name: 'head.bias', role: 'bias' as const, init: constantInit([V], 0) },
        ]),
  ];
  const params = ParamSet.create(specs);
  const mask = tf.keep(causalMask(length));

  const predict = (values: ParamValues, tokens: Tensor): Tensor =>
    tf.tidy(() => {
      const t = tokens.shape[1]!;
      const positions = tf.slice(values['embed.position']!, [0, 0], [t, D]);
      let x = tf.add(embedding(values['embed.token']!, tokens), positions);
      const m = t === length ? mask : tf.slice(mask, [0, 0], [t, t]);
      x = transformerStack(x, values, shape, kernel, m);
      const h = layerNorm(x, values['norm.gain'], values['norm.bias']);
      return config.tiedHead
        ? dense(h, tf.transpose(values['embed.token']!))
        : dense(h, values.head!, values['head.bias']);
    });

  return {
    params,
    predict,
    ...meanFieldParts(shape),
    loss: crossEntropyLoss(predict),
    dispose: () => {
      params.dispose();
      mask.dispose();
    },
  };
}

export const gpt = definePlugin({
  kind: 'model',
  name: 'gpt',
  description:
    'decoder-only softmax Transformer: embeddings, pre-LN blocks with separate q/k/v/o and a GELU MLP, causal mask; attention: any kernel (default softmax)',
  config: gptConfig,
  create: (config, ctx): ModelBuilder => kernelModel(config, ctx, buildGpt),
  estimate: estimateGpt,
});
