/**
 * Softmax attention on an in-context regression prompt, the comparison variant of Ahn et al.'s
 * linear attention with the same data path. In the column convention (Z of shape
 * (d+1) x (n+1), one column per token, the query last), one head adds
 *
 *     P̃ Z M A,    A[i, j] = exp(S[i, j] / s) / Σ_{k<n} exp(S[k, j] / s)  for keys i < n,
 *                 S = Zᵀ Q̃ Z  (the scores of the linear model),
 *
 * so every token j (context and query) averages P̃ z_i over the context tokens i < n with
 * softmax weights, where the linear model weights them by S[i, j] / n. The query is never a
 * key, as M ensures in the linear model; the keys are sliced rather than masked with a large
 * negative number, so the softmax only ever sees finite scores.
 *
 * Internally tokens are rows (X = Zᵀ): logits X Q̃ᵀ Xᵀ_ctx of shape [batch, n+1, n] (query j,
 * key i), softmax over the keys, times the values X_ctx P̃ᵀ. Kernels: Slice, Reshape, MatMul,
 * Multiply and Softmax, whose gradient tdx re-registers from its inputs, so double backward is
 * exact.
 */
import { softmax, tf, type Tensor } from '@tdx/tensor';

/**
 * One head's update for prompts X of shape [batch, n+1, d+1] (tokens as rows, the query last),
 * with the embedded (d+1) x (d+1) matrices P̃ and Q̃ and `scale` s, the divisor of the scores
 * (as the attention kernels' `scale`). Returns [batch, n+1, d+1]. Call inside tf.tidy.
 */
export function promptSoftmaxAttention(X: Tensor, P: Tensor, Q: Tensor, scale: number): Tensor {
  const [batch, tokens, width] = X.shape as [number, number, number];
  const n = tokens - 1;
  const keys = tf.slice(X, [0, 0, 0], [batch, n, width]); // the context tokens
  const queries = tf.reshape(tf.matMul(tf.reshape(X, [batch * tokens, width]), Q, false, true), [
    batch,
    tokens,
    width,
  ]); // X Q̃ᵀ
  // Times 1/s rather than divided by s: the rounding tdx has always used for these logits.
  const logits = tf.mul(tf.matMul(queries, keys, false, true), 1 / scale); // [batch, n+1, n]
  const weights = softmax(logits, -1);
  const values = tf.reshape(tf.matMul(tf.reshape(keys, [batch * n, width]), P, false, true), [
    batch,
    n,
    width,
  ]); // X_ctx P̃ᵀ
  return tf.matMul(weights, values);
}
