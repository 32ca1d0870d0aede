/**
 * In-context linear regression (Ahn et al. 2023; Garg et al. 2022). Each prompt draws a task
 * w ~ N(0, I_d) and covariates x_1..x_n, x_q ~ N(0, I_d); labels are y_i = <w, x_i>. The model
 * sees n (x_i, y_i) pairs and the query with its label slot zeroed, and must predict y_q.
 *
 * Layout: inputs [batch, n + 1, d + 1], one token per row: rows 0..n-1 are (x_i, y_i), row n is
 * (x_q, 0). Targets [batch]: y_q. Batches are a pure function of (seed, step).
 */
import { definePlugin, z } from '@tdx/core';
import { Rng, tf, type Batch, type Dataset, type DatasetInfo } from '@tdx/tensor';
import { cachedBatch } from './cached-batch.js';

export const iclLinearRegressionConfig = z.object({
  /** Dimension of the covariates. */
  d: z.number().int().positive().default(5),
  /** Number of context pairs per prompt. */
  n: z.number().int().positive().default(20),
  /** Prompts per training batch (a fresh batch every step). */
  batchSize: z.number().int().positive().default(1000),
  /** Prompts in the fixed evaluation batch. */
  evalBatchSize: z.number().int().positive().default(1000),
  /** Seed of the data stream; by default derived from the spec's seed. */
  seed: z.number().int().nonnegative().optional(),
});

export type IclLinearRegressionConfig = z.output<typeof iclLinearRegressionConfig>;

/** The tokens and targets of `batchSize` prompts drawn from `rng`, on the host. */
export function sampleIclPrompts(
  rng: Rng,
  config: Pick<IclLinearRegressionConfig, 'd' | 'n'>,
  batchSize: number,
): { tokens: Float32Array; targets: Float32Array } {
  const { d, n } = config;
  const width = d + 1;
  const rows = n + 1;
  const tokens = new Float32Array(batchSize * rows * width);
  const targets = new Float32Array(batchSize);
  const w = new Float64Array(d);
  for (let b = 0; b < batchSize; b++) {
    for (let k = 0; k < d; k++) w[k] = rng.normal();
    for (let i = 0; i < rows; i++) {
      const at = (b * rows + i) * width;
      let y = 0;
      for (let k = 0; k < d; k++) {
        const x = rng.normal();
        tokens[at + k] = x;
        y += w[k]! * x;
      }
      if (i < n) tokens[at + d] = y;
      else targets[b] = y; // the query's label slot stays 0
    }
  }
  return { tokens, targets };
}

export function createIclLinearRegression(
  config: IclLinearRegressionConfig,
  seed: number,
): Dataset {
  const root = new Rng(config.seed ?? seed);
  const info: DatasetInfo = {
    task: 'icl-linear-regression',
    inputShape: [config.n + 1, config.d + 1],
    targetShape: [],
    meta: { d: config.d, n: config.n },
  };
  const toBatch = (rng: Rng, size: number): Batch => {
    const { tokens, targets } = sampleIclPrompts(rng, config, size);
    return {
      inputs: tf.tensor3d(tokens, [size, config.n + 1, config.d + 1], 'float32'),
      targets: tf.tensor1d(targets, 'float32'),
    };
  };
  const evaluation = cachedBatch(() => toBatch(root.fork('eval'), config.evalBatchSize));
  return {
    info,
    batch: (step) => toBatch(root.fork('train', step), config.batchSize),
    evalBatch: evaluation.get,
    dispose: evaluation.dispose,
  };
}

export const iclLinearRegression = definePlugin({
  kind: 'dataset',
  name: 'icl-linear-regression',
  description:
    'in-context linear regression (Ahn et al. 2023): n pairs (x, <w, x>) and a query, x, w ~ N(0, I_d)',
  config: iclLinearRegressionConfig,
  create: (config, ctx): Dataset => createIclLinearRegression(config, ctx.seed),
});
