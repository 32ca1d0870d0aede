/**
 * `one-layer-attention`: the single attention layer of Song et al. (NeurIPS 2024),
 *
 *     F(X) = S(X W_Q, X W_K) X W_V            (· W_O with `output: true`),
 *
 * for token sequences X [n, d] and targets Y [n, out] (the token-regression dataset), with the
 * kernel S an attention-kernel plugin (softmax or gaussian, scale √p by default). No biases, no
 * norms, no residual: the theory's model. With H `heads`, W_Q and W_K are [d, H·p] (p = `keyDim`
 * per head) and W_V's columns split evenly over the heads: head h maps its kernel-weighted
 * inputs S_h X through its own column group (concatenated; then W_O [d, out] when present).
 *
 * Loss (the normalisation the rates in init-conditions are derived for):
 *
 *     L = (1/(2N)) Σ_i ‖F(X_i) − Y_i‖_F²,    N the number of sequences in the batch,
 *
 * i.e. half the per-sequence squared error, not averaged over tokens or outputs. With only W_V
 * trainable (one head, no W_O) it is least squares, L = (1/(2N))‖B W_V − Y‖_F² with the
 * stacked B = [S_1X_1; …; S_NX_N]; the model exposes S (`kernelMatrices`) for that analysis.
 *
 * Initialisation: i.i.d. normal entries, `initStd` for W_Q and W_K, `valueInitStd` for W_V. With
 * W_Q and W_K drawn independently, small sequences (n = 4, d = 32, initStd 0.25–2) give kernel
 * matrices with κ(S_i) of 30 to 10⁴ and κ(BBᵀ) of 10³ to 10⁹ (measured, softmax and Gaussian);
 * `keyInit: query` starts W_K = W_Q, so every token is nearest to itself and S_i starts
 * diagonally dominant: κ(S_i) ≈ 1–2 and κ(BBᵀ) ≈ 15–50 at initStd 1.
 */
import { definePlugin, pluginRef, TdxError, z } from '@tdx/core';
import {
  ParamSet,
  Rng,
  tf,
  type AttentionKernel,
  type Batch,
  type DatasetInfo,
  type Model,
  type ModelBuilder,
  type ParamValues,
  type Scalar,
  type Tensor,
} from '@tdx/tensor';
import { kernelModel } from './kernels/attention.js';
import { softmaxKernel } from './kernels/softmax-kernel.js';
import { dense, normalInit, splitHeads, type BlockInit } from './layers.js';
import { estimateOneLayerAttention } from './estimates.js';

export const oneLayerAttentionConfig = z.object({
  attention: pluginRef('attention-kernel', 'softmax').describe(
    'The attention-kernel plugin: a name, or `{ name, ...config }` (default softmax).',
  ),
  heads: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe('Heads; the value (or, with W_O, the d-wide value) columns split evenly over them.'),
  keyDim: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("p: the query/key width of each head; default d (the kernel's default scale is √p)."),
  output: z
    .boolean()
    .default(false)
    .describe('Add the output matrix W_O: W_V becomes [d, d] and W_O [d, out].'),
  initStd: z
    .number()
    .positive()
    .default(1)
    .describe('Standard deviation of the i.i.d. normal entries of W_Q and W_K.'),
  keyInit: z
    .enum(['independent', 'query'])
    .default('independent')
    .describe(
      '`independent` draws W_K like W_Q; `query` starts W_K as a copy of W_Q (still its own block, trained separately): then q_i = k_i, every token is nearest to itself, and the kernel matrices start diagonally dominant and well-conditioned (see init-conditions).',
    ),
  valueInitStd: z
    .number()
    .positive()
    .optional()
    .describe("Standard deviation of W_V's entries; default initStd."),
  outputInitStd: z
    .number()
    .positive()
    .optional()
    .describe("Standard deviation of W_O's entries; default 1/√d (F keeps the scale of S X W_V)."),
});

export type OneLayerAttentionConfig = z.output<typeof oneLayerAttentionConfig>;
export type OneLayerAttentionOptions = z.input<typeof oneLayerAttentionConfig>;

/** The parameter blocks, by the role each has. */
export const ONE_LAYER_BLOCKS = {
  query: 'attn.query',
  key: 'attn.key',
  value: 'attn.value',
  output: 'attn.output',
} as const;

/** How the kernel-weighted inputs reach the output: what init-conditions needs of a model. */
export interface ValuePath {
  heads: number;
  /** The value block [d, heads·v]; head h owns columns [h·v, (h+1)·v). */
  value: string;
  /** The output block [heads·v, out], when the model has one. */
  output?: string;
}

export interface OneLayerAttentionModel extends Model {
  /** S_ih for each sequence i and head h, [N, heads, n, n], at `values`. Call inside tf.tidy. */
  kernelMatrices(values: ParamValues, inputs: Tensor): Tensor;
  readonly valuePath: ValuePath;
}

/** n, d and out of a dataset of token sequences [n, d] with targets [n, out]. */
function tokenShape(info: DatasetInfo): { n: number; d: number; out: number } {
  const [n, d] = info.inputShape;
  const [rows, out] = info.targetShape;
  if (info.inputShape.length !== 2 || info.targetShape.length !== 2 || rows !== n) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `one-layer-attention needs token sequences [n, d] with targets [n, out], but dataset "${info.task}" gives inputs [${info.inputShape}] and targets [${info.targetShape}]`,
      { hint: 'use it with the token-regression dataset' },
    );
  }
  return { n: n!, d: d!, out: out! };
}

export function buildOneLayerAttention(
  options: OneLayerAttentionOptions,
  info: DatasetInfo,
  seed: number,
  kernel: AttentionKernel = softmaxKernel({}),
): OneLayerAttentionModel {
  return buildFromConfig(oneLayerAttentionConfig.parse(options), info, seed, kernel);
}

/** buildOneLayerAttention from a config checked already (the plugin's, by the registry). */
function buildFromConfig(
  config: Omit<OneLayerAttentionConfig, 'attention'>,
  info: DatasetInfo,
  seed: number,
  kernel: AttentionKernel,
): OneLayerAttentionModel {
  const { n, d, out } = tokenShape(info);
  const H = config.heads;
  const p = config.keyDim ?? d;
  const valueWidth = config.output ? d : out;
  if (valueWidth % H !== 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `heads (${H}) must divide the value width ${valueWidth} (${config.output ? 'd, with output: true' : 'the target width out'})`,
      { hint: `use heads: 1, or a head count that divides ${valueWidth}` },
    );
  }
  // One stream per matrix, so changing one matrix's std or shape leaves the others' draws alone.
  const rng = new Rng(seed);
  const block = (
    role: keyof typeof ONE_LAYER_BLOCKS,
    rows: number,
    cols: number,
    std: number,
  ): BlockInit => ({
    name: ONE_LAYER_BLOCKS[role],
    role,
    layer: 0,
    init: normalInit(rng.fork(role), [rows, cols], std),
  });
  const queryBlock = block('query', d, H * p, config.initStd);
  const specs: BlockInit[] = [
    queryBlock,
    config.keyInit === 'query'
      ? { ...queryBlock, name: ONE_LAYER_BLOCKS.key, role: 'key' }
      : block('key', d, H * p, config.initStd),
    block('value', d, valueWidth, config.valueInitStd ?? config.initStd),
  ];
  if (config.output) specs.push(block('output', d, out, config.outputInitStd ?? 1 / Math.sqrt(d)));
  const params = ParamSet.create(specs);
  const { query, key, value, output } = ONE_LAYER_BLOCKS;

  const weightsOf = (values: ParamValues, X: Tensor): Tensor =>
    kernel.weights(splitHeads(dense(X, values[query]!), H), splitHeads(dense(X, values[key]!), H));

  const predict = (values: ParamValues, X: Tensor): Tensor =>
    tf.tidy(() => {
      const N = X.shape[0]!;
      const V = splitHeads(dense(X, values[value]!), H); // [N, H, n, v]
      const mixed = tf.matMul(weightsOf(values, X), V); // S_h X W_V^h
      const joined = tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [N, n, valueWidth]);
      return config.output ? dense(joined, values[output]!) : joined;
    });

  return {
    params,
    predict,
    loss: (values: ParamValues, batch: Batch): Scalar =>
      tf.tidy(() => {
        const residual = tf.sub(predict(values, batch.inputs), batch.targets);
        return tf.div(tf.sum(tf.square(residual)), 2 * batch.inputs.shape[0]!) as Scalar;
      }),
    kernelMatrices: (values, inputs) => tf.tidy(() => weightsOf(values, inputs)),
    valuePath: { heads: H, value, ...(config.output ? { output } : {}) },
    dispose: () => params.dispose(),
  };
}

export const oneLayerAttention = definePlugin({
  kind: 'model',
  name: 'one-layer-attention',
  description:
    'F(X) = S(X W_Q, X W_K) X W_V [W_O], one attention layer without biases or norms, loss (1/2N) Σ‖F(X_i) − Y_i‖² (Song et al. 2024); attention: any kernel',
  config: oneLayerAttentionConfig,
  create: (config, ctx): ModelBuilder => kernelModel(config, ctx, buildFromConfig),
  estimate: estimateOneLayerAttention,
});
