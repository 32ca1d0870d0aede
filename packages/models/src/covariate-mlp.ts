/**
 * A trainable one-hidden-layer MLP on the covariates of an in-context regression prompt, as in
 * Ahn et al.'s `Transformer_MLP` (nonlinear_regression.ipynb): every token's covariates x
 * (context and query alike) are replaced by
 *
 *     x ← W_outᵀ act(W_inᵀ x + b_in) + b_out        (d → hidden → d, no residual),
 *
 * and the label entries (the last coordinate, 0 for the query) pass through untouched. It runs
 * once, before the attention layers.
 *
 * Blocks: `mlp.in` ([d, hidden], role `mlp`), `mlp.in.bias` ([hidden], role `bias`),
 * `mlp.out` ([hidden, d], role `mlp`), `mlp.out.bias` ([d], role `bias`); no layer index (the
 * MLP precedes layer 0). Initialisation as PyTorch's `nn.Linear` (what that notebook uses):
 * weights and biases i.i.d. uniform on [-1/√fan_in, 1/√fan_in].
 *
 * The activations are TF.js's Relu and Tanh and tdx's erf GELU, all audited for exact
 * Hessian-vector products. ReLU's second derivative is zero almost everywhere, so with `relu`
 * the MLP contributes to the Hessian only through products of first derivatives.
 */
import { z } from '@tdx/core';
import { tf, type ParamValues, type Rng, type Tensor } from '@tdx/tensor';
import { activate, activationConfig } from './activations.js';
import { dense, type BlockInit } from './layers.js';

export const covariateMlpConfig = z.object({
  hidden: z.number().int().positive().default(32).describe('Width of the hidden layer.'),
  activation: activationConfig.default('relu'),
});

export type CovariateMlpConfig = z.output<typeof covariateMlpConfig>;

/** Block names of the covariate MLP. */
export const covariateMlpBlockNames = {
  inWeight: 'mlp.in',
  inBias: 'mlp.in.bias',
  outWeight: 'mlp.out',
  outBias: 'mlp.out.bias',
} as const;

/** The MLP's parameter blocks for covariates of dimension d, drawn from `rng`. */
export function covariateMlpBlocks(d: number, config: CovariateMlpConfig, rng: Rng): BlockInit[] {
  const { hidden } = config;
  const uniform = (fanIn: number, shape: number[]) => {
    const bound = 1 / Math.sqrt(fanIn);
    return { values: rng.uniformArray(shape[0]! * (shape[1] ?? 1), -bound, bound), shape };
  };
  const names = covariateMlpBlockNames;
  return [
    { name: names.inWeight, role: 'mlp', init: uniform(d, [d, hidden]) },
    { name: names.inBias, role: 'bias', init: uniform(d, [hidden]) },
    { name: names.outWeight, role: 'mlp', init: uniform(hidden, [hidden, d]) },
    { name: names.outBias, role: 'bias', init: uniform(hidden, [d]) },
  ];
}

/**
 * Applies the MLP to the covariates of prompts X of shape [batch, n+1, d+1] (tokens as rows,
 * label last); returns a tensor of the same shape. Call inside tf.tidy.
 */
export function applyCovariateMlp(
  X: Tensor,
  values: ParamValues,
  config: CovariateMlpConfig,
): Tensor {
  const [batch, tokens, width] = X.shape as [number, number, number];
  const d = width - 1;
  const names = covariateMlpBlockNames;
  const covariates = tf.slice(X, [0, 0, 0], [batch, tokens, d]);
  const labels = tf.slice(X, [0, 0, d], [batch, tokens, 1]);
  const hidden = activate(
    dense(covariates, values[names.inWeight]!, values[names.inBias]!),
    config.activation,
  );
  const mapped = dense(hidden, values[names.outWeight]!, values[names.outBias]!);
  return tf.concat([mapped, labels], 2);
}
