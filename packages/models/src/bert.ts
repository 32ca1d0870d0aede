/**
 * `bert`: an encoder Transformer trained by masked-token prediction (Devlin et al. 2019), the
 * BERT of Zhang et al. (2024) at `size: paper` (BERT-base).
 *
 * Token and learned position embeddings, an embedding LayerNorm, the blocks of `gpt` without a
 * causal mask (padding keys masked when the data has padding), then BERT's prediction head: a
 * dense layer with GELU and LayerNorm, and the decoder, tied to the token embedding by default
 * (`tiedHead`), with its own bias. The loss is the cross-entropy of the original tokens at the
 * masked positions only (targets −1 elsewhere), averaged over those positions.
 *
 * Differences from BERT, on purpose: the blocks are pre-LN (LN before attention and MLP, as in
 * gpt and vit, so that one block serves every family; BERT's are post-LN, and the head's
 * LayerNorm normalises the last block's output here); there are no token-type (segment)
 * embeddings and no next-sentence objective (one segment per sequence); no dropout. At
 * `size: paper` with BERT's vocabulary (30,522) and 512 positions that is 109,512,762
 * parameters, BertForMaskedLM's 109,514,298 less its 1,536 token-type parameters.
 *
 * Blocks as PyTorch's default partition: the token embedding, positions, every norm, each of
 * Q/K/V/O and each MLP matrix per layer, the head's dense layer and (untied) decoder; biases
 * their own blocks. Data: a `masked-language-modelling` dataset (`masked-tokens` of
 * @tdx/datasets wraps markov-text or spam-assassin).
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import {
  embedding,
  gelu,
  layerNorm,
  logSoftmax,
  ParamSet,
  Rng,
  tf,
  type Batch,
  type DatasetInfo,
  type Model,
  type ModelBuilder,
  type AttentionKernel,
  type ParamValues,
  type Scalar,
  type Tensor,
} from '@tdx/tensor';
import { kernelModel } from './kernels/attention.js';
import { softmaxKernel } from './kernels/softmax-kernel.js';
import { constantInit, dense, type BlockInit, normalInit } from './layers.js';
import { paddingMasks } from './text-transformer.js';
import { meanFieldParts, transformerBlock, transformerBlockParams } from './transformer-block.js';
import { blockShape, headsDivideWidth, transformerFields } from './transformer-config.js';
import { BERT_SIZES, sized } from './sizes.js';

export const bertConfig = sized(
  z
    .object({
      ...transformerFields,
      /** Decode with the token embedding (transposed), as BERT does; false: a separate matrix. */
      tiedHead: z.boolean().default(true),
      /** Positions the position embedding covers; default: the dataset's length (BERT: 512). */
      maxLength: z.number().int().positive().optional(),
    })
    .refine(...headsDivideWidth),
  BERT_SIZES,
);

export type BertConfig = z.output<typeof bertConfig>;

/** What a masked-language-modelling dataset gives: int32 tokens [B, T], targets [B, T] (−1: none). */
export function maskedLanguageModellingShape(
  info: DatasetInfo,
  model: string,
): { length: number; vocabulary: number; padId?: number } {
  const { vocabulary, padId } = info.meta;
  if (
    info.task !== 'masked-language-modelling' ||
    info.inputShape.length !== 1 ||
    typeof vocabulary !== 'number'
  ) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${model} needs a masked-language-modelling dataset (token sequences with masked positions), but "${info.task}" gives inputs [${info.inputShape}]`,
      {
        hint: 'wrap a text dataset: dataset: { name: masked-tokens, source: markov-text } (or source: spam-assassin)',
      },
    );
  }
  return {
    length: info.inputShape[0]!,
    vocabulary,
    ...(typeof padId === 'number' ? { padId } : {}),
  };
}

/**
 * Mean cross-entropy of `logits` [..., V] at the positions whose target (int32, shaped like
 * logits without the last axis) is ≥ 0; targets −1 are ignored. 0 when nothing is masked.
 */
export function maskedCrossEntropy(logits: Tensor, targets: Tensor): Scalar {
  return tf.tidy(() => {
    const V = logits.shape[logits.rank - 1]!;
    const flat = tf.reshape(tf.cast(targets, 'int32'), [-1]);
    const chosen = tf.cast(tf.greaterEqual(flat, 0), 'float32');
    const onehot = tf.cast(tf.oneHot(tf.maximum(flat, tf.zerosLike(flat)), V), 'float32');
    const logp = tf.reshape(logSoftmax(logits, -1), [-1, V]);
    const picked = tf.sum(tf.mul(onehot, logp), -1);
    return tf.neg(tf.div(tf.sum(tf.mul(picked, chosen)), tf.maximum(tf.sum(chosen), 1))) as Scalar;
  });
}

export function buildBert(
  config: Omit<BertConfig, 'attention'>,
  info: DatasetInfo,
  seed: number,
  kernel: AttentionKernel = softmaxKernel({}),
): Model {
  const { length, vocabulary: V, padId } = maskedLanguageModellingShape(info, 'bert');
  const [T, D] = [config.maxLength ?? length, config.width];
  if (T < length)
    throw new TdxError(
      'INVALID_ARGUMENT',
      `bert: maxLength ${T} is shorter than the dataset's sequences (${length})`,
      { hint: 'leave maxLength out (the dataset length) or raise it' },
    );
  const rng = new Rng(seed);
  const shape = blockShape(config);
  const std = config.initStd;
  const specs: BlockInit[] = [
    { name: 'embed.token', role: 'embedding', init: normalInit(rng, [V, D], std) },
    { name: 'embed.position', role: 'position', init: normalInit(rng, [T, D], std) },
    { name: 'embed.norm.gain', role: 'norm', init: constantInit([D], 1) },
    { name: 'embed.norm.bias', role: 'norm', init: constantInit([D], 0) },
    ...Array.from({ length: config.layers }, (_, l) =>
      transformerBlockParams(l, shape, rng, std),
    ).flat(),
    { name: 'head.transform', role: 'head', init: normalInit(rng, [D, D], std) },
    { name: 'head.transform.bias', role: 'bias', init: constantInit([D], 0) },
    { name: 'head.norm.gain', role: 'norm', init: constantInit([D], 1) },
    { name: 'head.norm.bias', role: 'norm', init: constantInit([D], 0) },
    ...(config.tiedHead
      ? []
      : [{ name: 'head.decoder', role: 'head' as const, init: normalInit(rng, [D, V], std) }]),
    { name: 'head.decoder.bias', role: 'bias', init: constantInit([V], 0) },
  ];
  const params = ParamSet.create(specs);

  const predict = (values: ParamValues, tokens: Tensor): Tensor =>
    tf.tidy(() => {
      const t = tokens.shape[1]!;
      const allowed = padId === undefined ? undefined : paddingMasks(tokens, padId).allowed;
      const positions = tf.slice(values['embed.position']!, [0, 0], [t, D]);
      let x = tf.add(embedding(values['embed.token']!, tokens), positions);
      x = layerNorm(x, values['embed.norm.gain'], values['embed.norm.bias']);
      for (let l = 0; l < config.layers; l++)
        x = transformerBlock(x, values, l, shape, kernel, allowed);
      const h = layerNorm(
        gelu(dense(x, values['head.transform']!, values['head.transform.bias'])),
        values['head.norm.gain'],
        values['head.norm.bias'],
      );
      const decoder = config.tiedHead
        ? tf.transpose(values['embed.token']!)
        : values['head.decoder']!;
      return dense(h, decoder, values['head.decoder.bias']);
    });

  return {
    params,
    predict,
    ...meanFieldParts(shape),
    loss: (values: ParamValues, batch: Batch) =>
      tf.tidy(() => maskedCrossEntropy(predict(values, batch.inputs), batch.targets)),
    dispose: () => params.dispose(),
  };
}

export const bert = definePlugin({
  kind: 'model',
  name: 'bert',
  description:
    'encoder Transformer trained by masked-token prediction: embeddings, pre-LN blocks without a causal mask, BERT’s prediction head (tied decoder); loss over the masked positions only',
  config: bertConfig,
  create: (config, ctx): ModelBuilder => kernelModel(config, ctx, buildBert),
});
