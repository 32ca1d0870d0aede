/**
 * Size estimates of the built-in datasets, from their config alone (see `estimate` in
 * @tdx/core): the shapes a model sizes itself by, and the memory the data and a step's batches
 * take. tdx refuses a spec whose runs cannot fit before any work starts.
 */
import type { DataEstimate, ResourceEstimate } from '@tdx/core';
import type { IclLinearRegressionConfig } from './icl-linear-regression.js';
import type { MailTextConfig } from './mail-text.js';
import type { MarkovTextConfig } from './markov-text.js';
import type { MnistConfig } from './mnist.js';
import { measuredSpectra } from './measured-spectra.js';
import type { QuadraticConfig } from './quadratic.js';
import type { SpamAssassinConfig } from './spam-assassin.js';
import type { TokenRegressionConfig } from './token-regression.js';

const FLOAT = 4;
const DOUBLE = 8;
const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Memory of the batches in flight: a training batch (and its copy in a step) and the eval batch. */
function batchBytes(data: DataEstimate): number {
  const example = (product(data.inputShape) + product(data.targetShape)) * FLOAT;
  return example * (2 * data.batchSize + (data.evalBatchSize ?? 0));
}

function estimateOf(data: DataEstimate, heldBytes = 0): ResourceEstimate {
  return { data, memoryBytes: heldBytes + batchBytes(data) };
}

export function estimateIclLinearRegression(c: IclLinearRegressionConfig): ResourceEstimate {
  return estimateOf(
    {
      task: 'icl-linear-regression',
      inputShape: [c.n + 1, c.d + 1],
      targetShape: [],
      meta: { d: c.d, n: c.n },
      batchSize: c.batchSize,
      evalBatchSize: c.evalBatchSize,
    },
    c.covariance ? 2 * c.d * c.d * DOUBLE : 0,
  );
}

export function estimateQuadratic(c: QuadraticConfig): ResourceEstimate {
  // Measured spectra: the blocks are those of the measurement (read here, so that a missing
  // experiment is reported before any run starts).
  const sizes =
    c.construction === 'measured'
      ? measuredSpectra(c).eigenvalues.map((b) => b.length)
      : Array.from(
          { length: c.construction === 'custom' ? (c.ranges?.length ?? 0) : c.blocks },
          () => c.blockSize,
        );
  const n = sizes.reduce((a, b) => a + b, 0);
  return estimateOf(
    {
      task: 'quadratic',
      inputShape: [n, n],
      targetShape: [2, n],
      meta: { blockSizes: sizes.join(',') },
      batchSize: 1,
    },
    // The Hessian on the host (float64) while it is built.
    n * n * DOUBLE,
  );
}

export function estimateMarkovText(c: MarkovTextConfig): ResourceEstimate {
  return estimateOf(
    {
      task: 'language-modelling',
      inputShape: [c.length],
      targetShape: [c.length],
      meta: { vocabulary: c.vocabulary },
      batchSize: c.batchSize,
      evalBatchSize: c.evalBatchSize,
    },
    // The transition matrix and its cumulative sums.
    2 * c.vocabulary * c.vocabulary * DOUBLE,
  );
}

/** The SpamAssassin corpus (about 6,000 e-mails) as text and as token ids. */
const SPAM_CORPUS_BYTES = 60e6;

/** Character ids of mail-text (mail-text.ts's CHARACTERS and one for unknown characters). */
const MAIL_CHARACTER_IDS = 98;

export function estimateMailText(c: MailTextConfig): ResourceEstimate {
  return estimateOf(
    {
      task: 'language-modelling',
      inputShape: [c.length],
      targetShape: [c.length],
      // At word level the vocabulary may come out smaller (fewer distinct words): a bound.
      meta: { vocabulary: c.level === 'char' ? MAIL_CHARACTER_IDS : c.vocabulary },
      batchSize: c.batchSize,
      evalBatchSize: c.evalBatchSize,
    },
    // The corpus, its text and the two int32 streams.
    SPAM_CORPUS_BYTES,
  );
}

/** MNIST's 70,000 images of 28×28, held as float32, and their downsampled copy. */
const MNIST_IMAGES = 70_000;

export function estimateMnist(c: MnistConfig): ResourceEstimate {
  const side = 28 / c.downsample;
  return estimateOf(
    {
      task: 'image-classification',
      inputShape: [side, side, 1],
      targetShape: [],
      meta: { classes: 10 },
      batchSize: c.batchSize,
      evalBatchSize: c.evalBatchSize,
    },
    MNIST_IMAGES * (28 * 28 + side * side) * FLOAT,
  );
}

export function estimateSpamAssassin(c: SpamAssassinConfig): ResourceEstimate {
  return estimateOf(
    {
      task: 'text-classification',
      inputShape: [c.length],
      targetShape: [],
      meta: { vocabulary: c.vocabulary, classes: 2 },
      batchSize: c.batchSize,
      evalBatchSize: c.evalBatchSize,
    },
    SPAM_CORPUS_BYTES + 6000 * c.length * FLOAT,
  );
}

export function estimateTokenRegression(c: TokenRegressionConfig): ResourceEstimate {
  const outputs = c.outputs ?? c.dimension;
  return estimateOf({
    task: 'token-regression',
    inputShape: [c.tokens, c.dimension],
    targetShape: [c.tokens, outputs],
    meta: { outputs },
    // Every step trains on all the sequences.
    batchSize: c.sequences,
    evalBatchSize: c.evalSequences,
  });
}
