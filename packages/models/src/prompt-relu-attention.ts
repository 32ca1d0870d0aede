/**
 * ReLU attention on an in-context regression prompt: Ahn et al.'s `attention(P, Q, Z,
 * activation=relu)` (linear_transformer.py: "For ReLU attention, activation(x) = relu(x)").
 * In the column convention (Z of shape (d+1) x (n+1), one column per token, the query last),
 * one head adds
 *
 *     (1/n) P̃ Z M relu(S),    S = Zᵀ Q̃ Z  (the scores of the linear model),
 *
 * where the ReLU acts on every score S[i, j] = z_iᵀ Q̃ z_j (key i, query j) elementwise, after
 * the bilinear form and before the key mask M and the 1/n, as the authors apply their activation
 * to the whole score matrix before multiplying by the mask. Nothing is normalised: a key with a
 * negative score gets weight 0, the others their score over n. Since relu(0) = 0 the order of
 * ReLU and mask does not matter; the keys are sliced (i < n) rather than masked.
 *
 * Internally tokens are rows (X = Zᵀ): scores X Q̃ᵀ Xᵀ_ctx of shape [batch, n+1, n] (query j,
 * key i), ReLU, times the values X_ctx P̃ᵀ, over n. Unlike the linear model this forms the
 * (n+1) x n score matrix, since the ReLU needs each score. Kernels: Slice, Reshape, MatMul,
 * Relu, Multiply; Relu's gradient is step(x)·dy from its input, so double backward is exact
 * (its second derivative is 0 away from the kink).
 */
import { tf, type Tensor } from '@tdx/tensor';

/**
 * One head's update for prompts X of shape [batch, n+1, d+1] (tokens as rows, the query last),
 * with the embedded (d+1) x (d+1) matrices P̃ and Q̃. Returns [batch, n+1, d+1]. Call inside
 * tf.tidy.
 */
export function promptReluAttention(X: Tensor, P: Tensor, Q: Tensor): Tensor {
  return tf.div(tf.matMul(promptReluWeights(X, Q), promptValues(X, P)), X.shape[1]! - 1);
}

/** relu(S) as [batch, n+1, n]: query j (rows), context key i < n (columns). */
export function promptReluWeights(X: Tensor, Q: Tensor): Tensor {
  return tf.relu(promptScores(X, Q));
}

/** The scores S before the ReLU, [batch, n+1, n] (query j, key i < n): x_jᵀ Q̃ᵀ x_i. */
export function promptScores(X: Tensor, Q: Tensor): Tensor {
  const [batch, tokens, width] = X.shape as [number, number, number];
  const keys = tf.slice(X, [0, 0, 0], [batch, tokens - 1, width]);
  const queries = tf.reshape(tf.matMul(tf.reshape(X, [batch * tokens, width]), Q, false, true), [
    batch,
    tokens,
    width,
  ]); // X Q̃ᵀ
  return tf.matMul(queries, keys, false, true);
}

/** The context's values X_ctx P̃ᵀ, [batch, n, d+1]. */
function promptValues(X: Tensor, P: Tensor): Tensor {
  const [batch, tokens, width] = X.shape as [number, number, number];
  const n = tokens - 1;
  const keys = tf.slice(X, [0, 0, 0], [batch, n, width]);
  return tf.reshape(tf.matMul(tf.reshape(keys, [batch * n, width]), P, false, true), [
    batch,
    n,
    width,
  ]);
}
