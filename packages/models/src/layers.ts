/**
 * Layers shared by the models, written with ops whose second derivatives are exact (see
 * @tdx/tensor): dense layers as one 2-D matmul, initialisers, scaled dot-product attention and
 * masks. The Transformer block is in transformer-block.ts.
 */
import {
  softmaxCrossEntropy,
  tf,
  type Batch,
  type ParamBlockSpec,
  type ParamValues,
  type Rng,
  type Scalar,
  type Tensor,
} from '@tdx/tensor';
import { attend } from './kernels/attention.js';
import { softmaxKernel } from './kernels/softmax-kernel.js';

export type BlockInit = ParamBlockSpec & { init: { values: ArrayLike<number>; shape: number[] } };

export function normalInit(
  rng: Rng,
  shape: number[],
  std: number,
): { values: Float64Array; shape: number[] } {
  return {
    values: rng.normalArray(
      shape.reduce((a, b) => a * b, 1),
      0,
      std,
    ),
    shape,
  };
}

export function constantInit(
  shape: number[],
  value: number,
): { values: Float64Array; shape: number[] } {
  return { values: new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape };
}

/** x W + b over the last axis of x, as one 2-D matmul (reshaped around it unless x is 2-D). */
export function dense(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const width = x.shape[x.rank - 1]!;
  const y = tf.matMul(x.rank === 2 ? x : tf.reshape(x, [x.size / width, width]), weight);
  const out = bias ? tf.add(y, bias) : y;
  return x.rank === 2 ? out : tf.reshape(out, [...x.shape.slice(0, -1), weight.shape[1]!]);
}

/**
 * softmax(q kᵀ / √d) v over q, k, v of shape [batch, heads, tokens, d], with keys masked where
 * `allowed` ([tokens, tokens]) is 0: the `softmax` kernel with its default scale.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  allowed?: Tensor,
): Tensor {
  return attend(softmaxKernel({}), q, k, v, allowed);
}

/** A causal mask: 1 where a token may attend (itself and earlier ones), 0 elsewhere. */
export function causalMask(tokens: number): Tensor {
  return tf.tidy(() => tf.linalg.bandPart(tf.ones([tokens, tokens]), -1, 0));
}

/** [batch, tokens, heads·p] -> [batch, heads, tokens, p]: the heads' columns side by side. */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, T, W] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [B, T, heads, W / heads]), [0, 2, 1, 3]);
}

/** The softmax cross-entropy of a classifier's logits: the loss of gpt, vit, cnn and others. */
export function crossEntropyLoss(
  predict: (values: ParamValues, inputs: Tensor) => Tensor,
): (values: ParamValues, batch: Batch) => Scalar {
  return (values, batch) =>
    tf.tidy(() => softmaxCrossEntropy(predict(values, batch.inputs), batch.targets));
}
