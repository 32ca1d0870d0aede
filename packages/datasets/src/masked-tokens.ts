/**
 * `masked-tokens`: masked-language-modelling data (BERT's objective, Devlin et al. 2019) made
 * from another dataset's token sequences (`source`: markov-text, spam-assassin, or any dataset
 * whose inputs are int32 token ids [B, T] with `meta.vocabulary`).
 *
 * In each sequence, round(maskFraction · n) of its n real (non-padding) tokens, at least one,
 * are chosen without replacement (as BERT's create_pretraining_data: a fixed share per
 * sequence, so every batch weighs alike). Each chosen token is replaced by the mask token with
 * probability `maskToken` (0.8), by a token drawn uniformly from the vocabulary (padding
 * excluded) with probability `randomToken` (0.1), and kept otherwise (0.1). Targets are the
 * original ids at the chosen positions and −1 everywhere else (ignored by the loss).
 *
 * The mask token is a new id, the source's vocabulary size V, so the vocabulary grows to V + 1.
 * Training batch `step` masks the source's batch `step` with a stream of its own seeded by
 * (seed, step): a pure function of the seed and the step. The evaluation batch masks the
 * source's evaluation batch once, with its own stream.
 *
 * Inputs [batch, length] int32; targets [batch, length] int32. Info: task
 * `masked-language-modelling`, meta.vocabulary (V + 1), meta.maskId (V), meta.ignoreId (−1),
 * meta.padId (when the source has padding), meta.maskFraction, meta.source.
 */
import { definePlugin, pluginRef, TdxError, z } from '@tdx/core';
import { asDataset, Rng, tf, type Batch, type Dataset, type DatasetInfo } from '@tdx/tensor';
import { cachedBatch } from './cached-batch.js';

export const maskedTokensConfig = z
  .object({
    /** The token sequences: a dataset plugin whose inputs are int32 ids [B, T] (markov-text). */
    source: pluginRef('dataset', 'markov-text'),
    /** Share of each sequence's real tokens chosen for prediction (BERT: 0.15); at least one. */
    maskFraction: z.number().gt(0).lt(1).default(0.15),
    /** Of the chosen tokens, the share replaced by the mask token (BERT: 0.8). */
    maskToken: z.number().min(0).max(1).default(0.8),
    /** Of the chosen tokens, the share replaced by a random token (BERT: 0.1); the rest are kept. */
    randomToken: z.number().min(0).max(1).default(0.1),
    /** Seed of the masking (default: derived from the spec's seed). */
    seed: z.number().int().nonnegative().optional(),
  })
  .refine((c) => c.maskToken + c.randomToken <= 1, {
    message: 'maskToken + randomToken must be at most 1 (the rest of the chosen tokens are kept)',
    path: ['randomToken'],
  });

export type MaskedTokensConfig = z.output<typeof maskedTokensConfig>;

/** Target value of the positions that are not predicted. */
export const IGNORE_ID = -1;

export interface MaskingOptions {
  vocabulary: number;
  maskId: number;
  padId?: number | undefined;
  maskFraction: number;
  maskToken: number;
  randomToken: number;
}

/**
 * Masks `ids` (row-major [count, length]) on the host: the masked inputs and the targets
 * (original id where chosen, IGNORE_ID elsewhere).
 */
export function maskTokens(
  ids: Int32Array,
  count: number,
  length: number,
  options: MaskingOptions,
  rng: Rng,
): { inputs: Int32Array; targets: Int32Array } {
  const inputs = Int32Array.from(ids);
  const targets = new Int32Array(ids.length).fill(IGNORE_ID);
  const { vocabulary: V, padId } = options;
  const randomToken = () => {
    // Uniform over the vocabulary without the padding id.
    const r = rng.int(padId === undefined ? V : V - 1);
    return padId !== undefined && r >= padId ? r + 1 : r;
  };
  for (let s = 0; s < count; s++) {
    const real: number[] = [];
    for (let t = 0; t < length; t++) if (ids[s * length + t] !== padId) real.push(s * length + t);
    if (real.length === 0) continue;
    const chosen = Math.max(1, Math.round(options.maskFraction * real.length));
    // The first `chosen` entries of a partial Fisher–Yates shuffle.
    for (let i = 0; i < chosen; i++) {
      const j = i + rng.int(real.length - i);
      [real[i], real[j]] = [real[j]!, real[i]!];
      const at = real[i]!;
      targets[at] = ids[at]!;
      const u = rng.uniform();
      if (u < options.maskToken) inputs[at] = options.maskId;
      else if (u < options.maskToken + options.randomToken) inputs[at] = randomToken();
    }
  }
  return { inputs, targets };
}

export function createMaskedTokens(
  config: Omit<MaskedTokensConfig, 'source'>,
  source: Dataset,
  seed: number,
): Dataset {
  const { info: from } = source;
  const V = from.meta.vocabulary;
  const padId = typeof from.meta.padId === 'number' ? from.meta.padId : undefined;
  if (from.inputShape.length !== 1 || typeof V !== 'number') {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `masked-tokens needs a source of token sequences (inputs [length] with meta.vocabulary), but "${from.task}" gives inputs [${from.inputShape}]`,
      { hint: 'use source: markov-text or source: spam-assassin' },
    );
  }
  const length = from.inputShape[0]!;
  const options: MaskingOptions = {
    vocabulary: V,
    maskId: V,
    padId,
    maskFraction: config.maskFraction,
    maskToken: config.maskToken,
    randomToken: config.randomToken,
  };
  const root = new Rng(config.seed ?? seed);
  const info: DatasetInfo = {
    task: 'masked-language-modelling',
    inputShape: [length],
    targetShape: [length],
    meta: {
      vocabulary: V + 1,
      maskId: V,
      ignoreId: IGNORE_ID,
      maskFraction: config.maskFraction,
      source: from.task,
      ...(padId === undefined ? {} : { padId }),
    },
  };
  const mask = (batch: Batch, rng: Rng): Batch => {
    const ids = Int32Array.from(batch.inputs.dataSync());
    const count = batch.inputs.shape[0]!;
    const { inputs, targets } = maskTokens(ids, count, length, options, rng);
    return {
      inputs: tf.tensor2d(inputs, [count, length], 'int32'),
      targets: tf.tensor2d(targets, [count, length], 'int32'),
    };
  };
  const evaluation = cachedBatch(() => {
    const batch = source.evalBatch?.();
    if (!batch)
      throw new TdxError(
        'INVALID_ARGUMENT',
        `masked-tokens: the source "${from.task}" has no evaluation batch`,
      );
    return mask(batch, root.fork('eval-mask'));
  });
  return {
    info,
    batch: (step) => {
      const batch = source.batch(step);
      try {
        return mask(batch, root.fork('mask', step));
      } finally {
        tf.dispose([batch.inputs, batch.targets]);
      }
    },
    ...(source.evalBatch ? { evalBatch: evaluation.get } : {}),
    ...(source.checkpoint ? { checkpoint: () => source.checkpoint!() } : {}),
    ...(source.restore ? { restore: (state: unknown) => source.restore!(state) } : {}),
    dispose: () => {
      evaluation.dispose();
      source.dispose();
    },
  };
}

export const maskedTokens = definePlugin({
  kind: 'dataset',
  name: 'masked-tokens',
  description:
    'masked-language-modelling data from another dataset’s token sequences: 15% of tokens chosen, 80% masked, 10% random, 10% kept (BERT)',
  config: maskedTokensConfig,
  // The registry creates the source dataset (with this plugin's seed) and injects it; it is
  // checked here because a dataset plugin need not be typed.
  create: ({ source, ...config }, ctx): Dataset =>
    createMaskedTokens(config, asDataset(source, `the dataset at ${ctx.path}.source`), ctx.seed),
});
