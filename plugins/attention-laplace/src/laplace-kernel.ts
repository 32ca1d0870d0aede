/**
 * S_ij = exp(−‖q_i − k_j‖ / scale): the Laplace (exponential) kernel, scale √p by default.
 * The distance is smoothed as sqrt(max(‖q−k‖², 0) + ε²) because the plain norm has no
 * derivative where q = k (and ‖q‖² + ‖k‖² − 2qᵀk, how the distance is computed in one matmul,
 * can round slightly below 0); ε is tiny against any distance a trained model sees.
 */
import { tf, type AttentionKernel, type Tensor } from '@tdx/tensor';

export interface LaplaceKernelOptions {
  /** Divides the distance; default √p, p the head dimension. */
  scale?: number | undefined;
  /** Smoothing of the distance at 0. */
  epsilon: number;
  /** Divide each row by its sum, as softmax does. */
  normalize: boolean;
}

export function laplaceKernel(options: LaplaceKernelOptions): AttentionKernel {
  return {
    weights(q: Tensor, k: Tensor, allowed?: Tensor): Tensor {
      const scale = options.scale ?? Math.sqrt(q.shape[q.rank - 1]!);
      const queryNorms = tf.sum(tf.square(q), -1, true);
      const keyNorms = tf.expandDims(tf.sum(tf.square(k), -1), -2);
      const squared = tf.sub(tf.add(queryNorms, keyNorms), tf.mul(tf.matMul(q, k, false, true), 2));
      const distance = tf.sqrt(tf.add(tf.relu(squared), options.epsilon ** 2));
      let weights = tf.exp(tf.div(tf.neg(distance), scale));
      if (allowed) weights = tf.mul(weights, allowed);
      // Every weight is positive before masking, so a row with a visible key has a positive sum.
      return options.normalize ? tf.div(weights, tf.sum(weights, -1, true)) : weights;
    },
  };
}
