/**
 * The linear Transformer of Ahn et al. (2023) for in-context linear regression.
 *
 * With the prompt as a matrix Z of shape (d+1) x (n+1), one column per token, each layer adds
 * the sum over heads of
 *
 *     (1/n) P Z M Zᵀ Q Z,      M = diag(1, ..., 1, 0)  (the query is not a key),
 *
 * and the prediction is minus the query's label entry of the last layer's Z.
 *
 * Parameterisations:
 * - `sparse` (Ahn et al.'s code): trainable d x d blocks P, Q embedded as
 *   P̃ = [[P, 0], [0, 1]] and Q̃ = [[Q, 0], [0, 0]]. Their code uses rows for tokens, in which
 *   the same update reads Z Q̃ Zᵀ M Z P̃ᵀ; our Q is the transpose of theirs, which changes
 *   nothing in distribution or dynamics (entries are i.i.d. at init, updates transpose).
 * - `full`: (d+1) x (d+1) P and Q, every entry trainable.
 *
 * Internally tokens are rows (X = Zᵀ, shape [batch, n+1, d+1]) and the update is evaluated as
 *
 *     X ← X + (1/n) X Qᵀ (Xᵀ M X) Pᵀ       (= (X Qᵀ Xᵀ)(M X Pᵀ), the paper's update transposed),
 *
 * associating so that no (n+1) x (n+1) attention matrix is formed: the per-prompt products
 * are (d+1) x (d+1), which is about four times less work for n = 20, d = 5.
 *
 * Comparison variants with the same prompt, residual update and prediction (defaults keep the
 * model above exactly):
 * - `scores: 'softmax'`: each head adds P̃ Z M A with A the softmax over the keys i < n of
 *   the same scores Zᵀ Q̃ Z divided by `scale` (default √(d+1), as the attention kernels'
 *   `scale` divides theirs), in place of the 1/n average (see prompt-softmax-attention.ts);
 * - `scores: 'relu'` (Ahn et al.'s ReLU attention): each head adds (1/n) P̃ Z M relu(Zᵀ Q̃ Z),
 *   the ReLU on every score before the mask and the 1/n (see prompt-relu-attention.ts);
 * - `covariateMlp`: a trainable d → hidden → d MLP on every token's covariates before the
 *   first layer, labels untouched, as Ahn et al.'s `Transformer_MLP` (see covariate-mlp.ts).
 */
import { definePlugin, TdxError, z } from '@tdx/core';
import {
  meanSquaredError,
  ParamSet,
  Rng,
  tf,
  type Batch,
  type DatasetInfo,
  type Model,
  type ModelBuilder,
  type ParamValues,
  type Tensor,
} from '@tdx/tensor';
import { applyCovariateMlp, covariateMlpBlocks, covariateMlpConfig } from './covariate-mlp.js';
import type { BlockInit } from './layers.js';
import { promptSoftmaxAttention } from './prompt-softmax-attention.js';
import { promptReluAttention } from './prompt-relu-attention.js';

export {
  applyCovariateMlp,
  covariateMlpBlockNames,
  covariateMlpBlocks,
  covariateMlpConfig,
  type CovariateMlpConfig,
} from './covariate-mlp.js';
import { estimateLinearTransformer } from './estimates.js';
export { promptSoftmaxAttention } from './prompt-softmax-attention.js';
export { promptReluAttention, promptReluWeights, promptScores } from './prompt-relu-attention.js';

export const linearTransformerConfig = z
  .object({
    layers: z.number().int().positive().default(3).describe('Number of layers L.'),
    heads: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe('Heads per layer; their updates are summed inside the residual.'),
    initStd: z
      .number()
      .positive()
      .default(0.05)
      .describe('Standard deviation of the i.i.d. normal initialisation of every P and Q entry.'),
    parameterization: z.enum(['sparse', 'full']).default('sparse'),
    scores: z
      .enum(['linear', 'softmax', 'relu'])
      .default('linear')
      .describe(
        "How the scores Zᵀ Q̃ Z weight the values: `linear`, divided by n (Ahn et al.); `softmax`, the softmax over the keys i < n of Zᵀ Q̃ Z / scale; `relu`, relu of each score, divided by n (Ahn et al.'s ReLU attention). (Formerly `attention`; not an attention-kernel reference as in gpt, vit and text-transformer.)",
      ),
    scale: z
      .number()
      .positive()
      .optional()
      .describe(
        "Softmax scores only: the scores are divided by it, as the kernels' `scale` divides theirs. Default √(d+1). (Formerly `temperature`.)",
      ),
    covariateMlp: covariateMlpConfig
      .optional()
      .describe('A trainable MLP on the covariates before the first layer; absent: none.'),
  })
  .refine((c) => c.scale === undefined || c.scores === 'softmax', {
    message: "scale applies only to scores: 'softmax'",
    path: ['scale'],
  });

export type LinearTransformerConfig = z.output<typeof linearTransformerConfig>;
/** What `buildLinearTransformer` accepts: the config before defaults are applied. */
export type LinearTransformerOptions = z.input<typeof linearTransformerConfig>;

/** Block names: `layers.<l>.heads.<h>.P` and `.Q`. */
export const linearTransformerBlockName = (
  layer: number,
  head: number,
  matrix: 'P' | 'Q',
): string => `layers.${layer}.heads.${head}.${matrix}`;

function checkData(info: DatasetInfo): { d: number; n: number } {
  const [rows, width] = info.inputShape;
  const fits =
    info.inputShape.length === 2 && rows! >= 2 && width! >= 2 && info.targetShape.length === 0;
  if (!fits) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `linear-transformer needs prompts of shape [n + 1, d + 1] with one scalar target, but dataset "${info.task}" gives inputs [${info.inputShape}] and targets [${info.targetShape}]`,
      { hint: 'use it with the icl-linear-regression dataset' },
    );
  }
  return { d: width! - 1, n: rows! - 1 };
}

export function buildLinearTransformer(
  options: LinearTransformerOptions,
  info: DatasetInfo,
  seed: number,
): Model {
  return buildFromConfig(linearTransformerConfig.parse(options), info, seed);
}

/** buildLinearTransformer from a config checked already (the plugin's, by the registry). */
function buildFromConfig(config: LinearTransformerConfig, info: DatasetInfo, seed: number): Model {
  const { d, n } = checkData(info);
  const rng = new Rng(seed);
  const blockSize = config.parameterization === 'sparse' ? d : d + 1;
  const specs: BlockInit[] = [];
  for (let l = 0; l < config.layers; l++) {
    for (let h = 0; h < config.heads; h++) {
      for (const matrix of ['P', 'Q'] as const) {
        specs.push({
          name: linearTransformerBlockName(l, h, matrix),
          // P plays the value-output product, Q the query-key product.
          role: matrix === 'P' ? ('value' as const) : ('attention' as const),
          layer: l,
          init: {
            values: rng.normalArray(blockSize * blockSize, 0, config.initStd),
            shape: [blockSize, blockSize],
          },
        });
      }
    }
  }
  // The MLP's draws come after the attention's, so P and Q start the same with or without it;
  // its blocks come first in the flat vector, as it comes first in the forward pass.
  const mlp = config.covariateMlp;
  const params = ParamSet.create(mlp ? [...covariateMlpBlocks(d, mlp, rng), ...specs] : specs);
  const softmaxScale = config.scale ?? Math.sqrt(d + 1);

  // Constants: the key mask (query row excluded) and, for `sparse`, the fixed corner of P̃.
  const keyMask = tf.keep(
    tf.tensor3d(
      Float32Array.from({ length: n + 1 }, (_, i) => (i < n ? 1 : 0)),
      [1, n + 1, 1],
    ),
  );
  const corner = tf.keep(
    tf.tensor2d(
      Float32Array.from({ length: (d + 1) ** 2 }, (_, i) => (i === (d + 1) ** 2 - 1 ? 1 : 0)),
      [d + 1, d + 1],
    ),
  );
  const embed = (matrix: Tensor, isP: boolean): Tensor => {
    if (config.parameterization === 'full') return matrix;
    const padded = tf.pad(matrix, [
      [0, 1],
      [0, 1],
    ]);
    return isP ? tf.add(padded, corner) : padded;
  };

  const forward = (values: ParamValues, inputs: Tensor): Tensor =>
    tf.tidy(() => {
      const batch = inputs.shape[0]!;
      const flat = (x: Tensor) => tf.reshape(x, [batch * (n + 1), d + 1]);
      const unflat = (x: Tensor) => tf.reshape(x, [batch, n + 1, d + 1]);
      let X = mlp ? applyCovariateMlp(inputs, values, mlp) : inputs;
      for (let l = 0; l < config.layers; l++) {
        if (config.scores === 'softmax') {
          const updates = Array.from({ length: config.heads }, (_, h) =>
            promptSoftmaxAttention(
              X,
              embed(values[linearTransformerBlockName(l, h, 'P')]!, true),
              embed(values[linearTransformerBlockName(l, h, 'Q')]!, false),
              softmaxScale,
            ),
          );
          X = tf.add(X, updates.length === 1 ? updates[0]! : tf.addN(updates));
          continue;
        }
        if (config.scores === 'relu') {
          const updates = Array.from({ length: config.heads }, (_, h) =>
            promptReluAttention(
              X,
              embed(values[linearTransformerBlockName(l, h, 'P')]!, true),
              embed(values[linearTransformerBlockName(l, h, 'Q')]!, false),
            ),
          );
          X = tf.add(X, updates.length === 1 ? updates[0]! : tf.addN(updates));
          continue;
        }
        const masked = tf.mul(X, keyMask);
        const updates: Tensor[] = [];
        // Xᵀ M X: the key-value second moment of each prompt, [batch, d+1, d+1].
        const moment = tf.matMul(masked, X, true, false);
        for (let h = 0; h < config.heads; h++) {
          const P = embed(values[linearTransformerBlockName(l, h, 'P')]!, true);
          const Q = embed(values[linearTransformerBlockName(l, h, 'Q')]!, false);
          const queries = unflat(tf.matMul(flat(X), Q, false, true)); // X Qᵀ
          const mixed = tf.reshape(
            tf.matMul(tf.reshape(moment, [batch * (d + 1), d + 1]), P, false, true),
            [batch, d + 1, d + 1],
          ); // Xᵀ M X Pᵀ
          updates.push(tf.matMul(queries, mixed));
        }
        const update = updates.length === 1 ? updates[0]! : tf.addN(updates);
        X = tf.add(X, tf.div(update, n));
      }
      // The prediction is minus the query's label entry.
      return tf.neg(tf.reshape(tf.slice(X, [0, n, d], [batch, 1, 1]), [batch]));
    });

  return {
    params,
    predict: forward,
    loss: (values: ParamValues, batch: Batch) =>
      tf.tidy(() => meanSquaredError(forward(values, batch.inputs), batch.targets)),
    dispose: () => {
      params.dispose();
      keyMask.dispose();
      corner.dispose();
    },
  };
}

export const linearTransformer = definePlugin({
  kind: 'model',
  name: 'linear-transformer',
  description:
    'linear attention Z <- Z + (1/n) P Z M Zᵀ Q Z per layer (Ahn et al. 2023), prediction -Z[d, n]; softmax or ReLU scores and a covariate MLP as options',
  config: linearTransformerConfig,
  renamedKeys: { attention: 'scores', temperature: 'scale' },
  create: (config, ctx): ModelBuilder => ({
    build: (info) => buildFromConfig(config, info, ctx.seed),
  }),
  estimate: estimateLinearTransformer,
});
