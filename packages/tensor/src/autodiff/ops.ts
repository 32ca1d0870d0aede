/**
 * Differentiable building blocks whose first and second derivatives are exact.
 *
 * TF.js's own logSoftmax, logSigmoid and tf.losses.* are built with customGrad, whose
 * forward pass is invisible to an outer differentiation: their Hessian-vector products are
 * wrong. These are built from primitive kernels instead. Model code uses these.
 */
import { tf, type Tensor } from '../tf.js';
import { sharedHandle } from './shared-saves.js';

/**
 * Identity forward, zero derivative: the value is treated as a constant by autodiff. It is a
 * second handle on x's buffer that the tape does not link to x, so nothing upstream of it is
 * differentiated on its account (no kernel runs, forward or backward).
 */
export function stopGradient<T extends Tensor>(x: T): T {
  return sharedHandle(x);
}

/** log(sum(exp(x))) along `axis`, shifted by the (constant) maximum for stability. */
export function logSumExp(x: Tensor, axis = -1, keepDims = false): Tensor {
  return tf.tidy(() => {
    const shift = stopGradient(tf.max(x, axis, true));
    const lse = tf.add(shift, tf.log(tf.sum(tf.exp(tf.sub(x, shift)), axis, true)));
    return keepDims ? lse : tf.squeeze(lse, [axis < 0 ? x.rank + axis : axis]);
  });
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return tf.tidy(() => tf.sub(x, logSumExp(x, axis, true)));
}

/** Softmax along `axis` (TF.js's kernel, whose gradient tdx re-registers, for the last axis). */
export function softmax(x: Tensor, axis = -1): Tensor {
  const last = axis === -1 || axis === x.rank - 1;
  return last ? tf.softmax(x, -1) : tf.tidy(() => tf.exp(logSoftmax(x, axis)));
}

/** log(sigmoid(x)) = -softplus(-x). */
export function logSigmoid(x: Tensor): Tensor {
  return tf.tidy(() => tf.neg(tf.softplus(tf.neg(x))));
}

/**
 * GELU. `exact`: x Φ(x) = x/2 (1 + erf(x/√2)) (PyTorch's default);
 * `tanh`: x/2 (1 + tanh(√(2/π)(x + 0.044715 x³))) (GPT-2's).
 */
export function gelu(x: Tensor, approximate: 'exact' | 'tanh' = 'exact'): Tensor {
  return tf.tidy(() => {
    const inner =
      approximate === 'exact'
        ? tf.erf(tf.mul(x, Math.SQRT1_2))
        : tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, inner));
  });
}

/** Layer normalisation over the last axis, then the optional affine map gamma * x + beta. */
export function layerNorm(x: Tensor, gamma?: Tensor, beta?: Tensor, epsilon = 1e-5): Tensor {
  return tf.tidy(() => {
    const centred = tf.sub(x, tf.mean(x, -1, true));
    const variance = tf.mean(tf.square(centred), -1, true);
    let y = tf.mul(centred, tf.rsqrt(tf.add(variance, epsilon)));
    if (gamma) y = tf.mul(y, gamma);
    if (beta) y = tf.add(y, beta);
    return y;
  });
}

/** Rows of `table` ([vocabulary, width]) at integer `ids` (any shape): [...ids.shape, width]. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  return tf.gather(table, ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32'), 0);
}

/** Mean over every element of (prediction - target)². */
export function meanSquaredError(prediction: Tensor, target: Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(prediction, target))) as tf.Scalar);
}

/**
 * Mean softmax cross-entropy. `labels` are int32 class indices shaped like logits without the
 * last axis, or float class probabilities shaped like logits.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.rank - 1]!;
    const targets =
      labels.dtype === 'int32'
        ? tf.oneHot(tf.reshape(labels, [-1]), classes)
        : tf.reshape(labels, [-1, classes]);
    const logp = tf.reshape(logSoftmax(logits, -1), [-1, classes]);
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.cast(targets, 'float32'), logp), -1))) as tf.Scalar;
  });
}
