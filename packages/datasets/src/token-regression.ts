/**
 * Token regression, the regime of Song et al. (NeurIPS 2024) for one attention layer: N fixed
 * sequences X_i of n tokens in dimension d, and targets Y_i (n × out), fitted by full-batch
 * gradient descent. The whole dataset is one batch: `batch(step)` returns it at every step.
 *
 * Tokens have i.i.d. N(0, 1/d) entries, so E‖x‖² = 1 whatever d (projections X W with O(1)
 * weights stay O(1)). Targets:
 * - `random`: i.i.d. N(0, targetStd²) entries, unrelated to the tokens;
 * - `teacher`: the output of a random layer of the same one-layer form, Y_i = S_i X_i V with
 *   S_i = kernel(X_i Q, X_i K) (Q, K [d, d], V [d, out], entries N(0, teacherInitStd²), scale
 *   √d) and the kernel `softmax` (softmax_row(qᵀk/√d)) or `gaussian` (exp(−‖q−k‖²/(2√d)),
 *   not normalised), plus N(0, noise²) label noise. Computed in float64 on the host.
 *
 * The theory wants d ≥ N·n (then the stacked kernel-weighted input B = [S_1X_1; …; S_NX_N] can
 * have full row rank and W_V-only training reaches zero loss). Smaller d is allowed, for the
 * comparison; `meta.overparameterized` says which side of N·n the dataset is on.
 *
 * Layout: inputs [N, n, d], targets [N, n, out], float32. With `evalSequences` > 0 the
 * evaluation batch is a held-out set of that many sequences (same teacher); else it is the
 * training set itself.
 */
import { definePlugin, z } from '@tdx/core';
import { Rng, tf, type Batch, type Dataset, type DatasetInfo } from '@tdx/tensor';
import { cachedBatch } from './cached-batch.js';
import { estimateTokenRegression } from './estimates.js';

export const tokenRegressionConfig = z
  .object({
    sequences: z
      .number()
      .int()
      .positive()
      .default(4)
      .describe('N: the number of sequences, all in the one batch.'),
    tokens: z.number().int().positive().default(4).describe('n: tokens per sequence.'),
    dimension: z
      .number()
      .int()
      .positive()
      .default(32)
      .describe('d: the token (embedding) dimension; the theory wants d ≥ N·n.'),
    outputs: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('out: the width of each target row; default d.'),
    targets: z
      .enum(['random', 'teacher'])
      .default('random')
      .describe('`random` Gaussian targets, or those of a random `teacher` layer.'),
    targetStd: z
      .number()
      .positive()
      .default(1)
      .describe('Random targets: the standard deviation of their entries.'),
    teacherKernel: z
      .enum(['softmax', 'gaussian'])
      .default('softmax')
      .describe('Teacher targets: the kernel of the teacher layer.'),
    teacherInitStd: z
      .number()
      .positive()
      .default(1)
      .describe("Teacher targets: the standard deviation of the teacher's Q, K, V entries."),
    noise: z
      .number()
      .nonnegative()
      .default(0)
      .describe('Teacher targets: the standard deviation of the label noise added to them.'),
    evalSequences: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('Held-out sequences in the evaluation batch; 0: evaluate on the training set.'),
    seed: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("Seed of the data; by default derived from the spec's seed."),
  })
  .refine((c) => c.targets === 'teacher' || c.noise === 0, {
    message: 'noise applies to teacher targets only (random targets: set targetStd)',
    path: ['noise'],
  });

export type TokenRegressionConfig = z.output<typeof tokenRegressionConfig>;

/** One set of sequences on the host, row-major float64: tokens [N, n, d], targets [N, n, out]. */
export interface TokenRegressionSet {
  sequences: number;
  inputs: Float64Array;
  targets: Float64Array;
}

/** The teacher's weights, row-major: query and key [d, d], value [d, out]. */
export interface TokenRegressionTeacher {
  kernel: 'softmax' | 'gaussian';
  query: Float64Array;
  key: Float64Array;
  value: Float64Array;
}

export interface TokenRegressionData {
  train: TokenRegressionSet;
  /** The held-out set; undefined when `evalSequences` is 0. */
  eval: TokenRegressionSet | undefined;
  /** Undefined for random targets. */
  teacher: TokenRegressionTeacher | undefined;
  outputs: number;
}

/** x W for the rows of x ([rows, inner]) and W ([inner, cols]), float64. */
function matMul(x: Float64Array, w: Float64Array, rows: number, inner: number): Float64Array {
  const cols = w.length / inner;
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < inner; k++) {
      const a = x[r * inner + k]!;
      if (a === 0) continue;
      for (let c = 0; c < cols; c++) out[r * cols + c]! += a * w[k * cols + c]!;
    }
  return out;
}

/** The teacher kernel's weights S (n × n) for one sequence's queries and keys (n × d). */
export function teacherKernelWeights(
  kernel: 'softmax' | 'gaussian',
  q: Float64Array,
  k: Float64Array,
  n: number,
  d: number,
): Float64Array {
  const scale = Math.sqrt(d);
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      let distance = 0;
      for (let c = 0; c < d; c++) {
        const [a, b] = [q[i * d + c]!, k[j * d + c]!];
        dot += a * b;
        distance += (a - b) * (a - b);
      }
      S[i * n + j] = kernel === 'softmax' ? dot / scale : -distance / (2 * scale);
    }
    // Softmax: exponentiate after subtracting the row's max, then normalise.
    const row = S.subarray(i * n, (i + 1) * n);
    const top = kernel === 'softmax' ? Math.max(...row) : 0;
    for (let j = 0; j < n; j++) row[j] = Math.exp(row[j]! - top);
    if (kernel === 'softmax') {
      const total = row.reduce((s, x) => s + x, 0);
      for (let j = 0; j < n; j++) row[j] = row[j]! / total;
    }
  }
  return S;
}

function drawSet(
  rng: Rng,
  config: TokenRegressionConfig,
  sequences: number,
  outputs: number,
  teacher: TokenRegressionTeacher | undefined,
): TokenRegressionSet {
  const { tokens: n, dimension: d } = config;
  const inputs = rng.fork('tokens').normalArray(sequences * n * d, 0, 1 / Math.sqrt(d));
  if (!teacher) {
    const targets = rng.fork('targets').normalArray(sequences * n * outputs, 0, config.targetStd);
    return { sequences, inputs, targets };
  }
  const targets = new Float64Array(sequences * n * outputs);
  const noise = rng.fork('noise');
  for (let s = 0; s < sequences; s++) {
    const X = inputs.subarray(s * n * d, (s + 1) * n * d);
    const S = teacherKernelWeights(
      teacher.kernel,
      matMul(X, teacher.query, n, d),
      matMul(X, teacher.key, n, d),
      n,
      d,
    );
    const Y = matMul(matMul(S, X, n, n), teacher.value, n, d);
    for (let j = 0; j < Y.length; j++)
      targets[s * n * outputs + j] = Y[j]! + (config.noise > 0 ? config.noise * noise.normal() : 0);
  }
  return { sequences, inputs, targets };
}

/** The dataset's sets and teacher on the host, in float64: a pure function of the seed. */
export function tokenRegressionData(
  config: TokenRegressionConfig,
  seed: number,
): TokenRegressionData {
  const root = new Rng(config.seed ?? seed);
  const d = config.dimension;
  const outputs = config.outputs ?? d;
  let teacher: TokenRegressionTeacher | undefined;
  if (config.targets === 'teacher') {
    const draws = root.fork('teacher');
    const std = config.teacherInitStd;
    teacher = {
      kernel: config.teacherKernel,
      query: draws.fork('query').normalArray(d * d, 0, std),
      key: draws.fork('key').normalArray(d * d, 0, std),
      value: draws.fork('value').normalArray(d * outputs, 0, std),
    };
  }
  return {
    train: drawSet(root.fork('train'), config, config.sequences, outputs, teacher),
    eval:
      config.evalSequences > 0
        ? drawSet(root.fork('eval'), config, config.evalSequences, outputs, teacher)
        : undefined,
    teacher,
    outputs,
  };
}

export function createTokenRegression(config: TokenRegressionConfig, seed: number): Dataset {
  const data = tokenRegressionData(config, seed);
  const { tokens: n, dimension: d } = config;
  const totalTokens = config.sequences * n;
  const meta: DatasetInfo['meta'] = {
    sequences: config.sequences,
    tokens: n,
    dimension: d,
    outputs: data.outputs,
    totalTokens,
    // The theory's condition d ≥ N·n; diagnostics (init-conditions) flag it when false.
    overparameterized: d >= totalTokens,
    targets: config.targets,
    evalSequences: config.evalSequences,
  };
  if (config.targets === 'teacher') {
    meta.teacherKernel = config.teacherKernel;
    meta.noise = config.noise;
  }
  const info: DatasetInfo = {
    task: 'token-regression',
    inputShape: [n, d],
    targetShape: [n, data.outputs],
    meta,
  };
  const toBatch = (set: TokenRegressionSet): Batch => ({
    inputs: tf.tensor3d(Float32Array.from(set.inputs), [set.sequences, n, d], 'float32'),
    targets: tf.tensor3d(
      Float32Array.from(set.targets),
      [set.sequences, n, data.outputs],
      'float32',
    ),
  });
  const train = cachedBatch(() => toBatch(data.train));
  const held = data.eval ? cachedBatch(() => toBatch(data.eval!)) : undefined;
  return {
    info,
    // Full-batch: every step sees the whole training set. The caller owns what it gets.
    batch: () => ({ inputs: tf.clone(train.get().inputs), targets: tf.clone(train.get().targets) }),
    evalBatch: held ? held.get : train.get,
    dispose: () => {
      train.dispose();
      held?.dispose();
    },
  };
}

export const tokenRegression = definePlugin({
  kind: 'dataset',
  name: 'token-regression',
  description:
    'N fixed sequences of n Gaussian tokens (entries N(0, 1/d)) with random or teacher-layer targets [n, out], one full batch (Song et al. 2024)',
  config: tokenRegressionConfig,
  create: (config, ctx): Dataset => createTokenRegression(config, ctx.seed),
  estimate: estimateTokenRegression,
});
