/**
 * A synthetic language-modelling corpus: token sequences from a seeded random Markov chain over
 * a vocabulary. Each row of the transition matrix is drawn from a Dirichlet distribution, whose
 * concentration sets how predictable the text is; the chain's entropy rate is the lowest loss
 * a model can reach (reported in the dataset's facts).
 *
 * Inputs [batch, length] int32 tokens; targets [batch, length] the next tokens.
 */
import { definePlugin, z } from '@tdx/core';
import { Rng, tf, type Batch, type Dataset, type DatasetInfo } from '@tdx/tensor';
import { cachedBatch } from './cached-batch.js';
import { estimateMarkovText } from './estimates.js';

export const markovTextConfig = z.object({
  vocabulary: z.number().int().min(2).default(64),
  length: z
    .number()
    .int()
    .positive()
    .default(32)
    .describe("Tokens per sequence (the model's context)."),
  batchSize: z.number().int().positive().default(16),
  evalBatchSize: z.number().int().positive().default(64),
  concentration: z
    .number()
    .positive()
    .default(0.2)
    .describe(
      'Dirichlet concentration of each transition row: small is predictable, large is noise.',
    ),
  seed: z.number().int().nonnegative().optional(),
});

export type MarkovTextConfig = z.output<typeof markovTextConfig>;

export interface MarkovChain {
  /** Row-major V × V transition probabilities. */
  transitions: Float64Array;
  /** Cumulative rows, for sampling. */
  cumulative: Float64Array;
  stationary: Float64Array;
  /** Entropy rate in nats per token: Σ_i π_i H(row_i). */
  entropyRate: number;
}

export function markovChain(vocabulary: number, concentration: number, rng: Rng): MarkovChain {
  const V = vocabulary;
  const transitions = new Float64Array(V * V);
  for (let i = 0; i < V; i++) {
    let total = 0;
    for (let j = 0; j < V; j++) total += transitions[i * V + j] = rng.gamma(concentration) + 1e-12;
    for (let j = 0; j < V; j++) transitions[i * V + j]! /= total;
  }
  const cumulative = new Float64Array(V * V);
  for (let i = 0; i < V; i++) {
    let c = 0;
    for (let j = 0; j < V; j++) cumulative[i * V + j] = c += transitions[i * V + j]!;
  }
  // The stationary distribution by power iteration (the chain is irreducible: every entry > 0).
  let pi = new Float64Array(V).fill(1 / V);
  for (let it = 0; it < 2000; it++) {
    const next = new Float64Array(V);
    for (let i = 0; i < V; i++)
      for (let j = 0; j < V; j++) next[j]! += pi[i]! * transitions[i * V + j]!;
    pi = next;
  }
  let entropyRate = 0;
  for (let i = 0; i < V; i++) {
    for (let j = 0; j < V; j++) {
      const p = transitions[i * V + j]!;
      if (p > 0) entropyRate -= pi[i]! * p * Math.log(p);
    }
  }
  return { transitions, cumulative, stationary: pi, entropyRate };
}

function sequences(
  chain: MarkovChain,
  V: number,
  count: number,
  length: number,
  rng: Rng,
): { inputs: Int32Array; targets: Int32Array } {
  const inputs = new Int32Array(count * length);
  const targets = new Int32Array(count * length);
  const next = (state: number) => {
    const u = rng.uniform();
    let j = 0;
    while (j < V - 1 && chain.cumulative[state * V + j]! < u) j++;
    return j;
  };
  for (let s = 0; s < count; s++) {
    // Start from the stationary distribution, so every position is equally hard.
    let state = 0;
    const u = rng.uniform();
    for (let c = 0; state < V - 1 && (c += chain.stationary[state]!) < u;) state++;
    for (let t = 0; t < length; t++) {
      inputs[s * length + t] = state;
      state = next(state);
      targets[s * length + t] = state;
    }
  }
  return { inputs, targets };
}

export function createMarkovText(config: MarkovTextConfig, seed: number): Dataset {
  const root = new Rng(config.seed ?? seed);
  const chain = markovChain(config.vocabulary, config.concentration, root.fork('chain'));
  const info: DatasetInfo = {
    task: 'language-modelling',
    inputShape: [config.length],
    targetShape: [config.length],
    meta: { vocabulary: config.vocabulary, entropyRate: chain.entropyRate },
  };
  const toBatch = (rng: Rng, count: number): Batch => {
    const { inputs, targets } = sequences(chain, config.vocabulary, count, config.length, rng);
    return {
      inputs: tf.tensor2d(inputs, [count, config.length], 'int32'),
      targets: tf.tensor2d(targets, [count, config.length], 'int32'),
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

export const markovText = definePlugin({
  kind: 'dataset',
  name: 'markov-text',
  description:
    'token sequences from a seeded random Markov chain (language modelling; the entropy rate is the best loss)',
  config: markovTextConfig,
  create: (config, ctx): Dataset => createMarkovText(config, ctx.seed),
  estimate: estimateMarkovText,
});
