import { mapValues, tf, type GradientTransformation } from '@tdx/tensor';

/**
 * Scales all updates together so that their global L2 norm is at most `maxNorm`, as PyTorch's
 * clip_grad_norm_ does: coefficient max_norm / (norm + 1e-6), applied when below 1.
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<null> {
  return {
    init: () => null,
    update: (updates, state) => {
      const squares = Object.values(updates).map((u) => tf.sum(tf.square(u)));
      const norm = tf.sqrt(squares.length === 1 ? squares[0]! : tf.addN(squares));
      const coefficient = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
      return { updates: mapValues(updates, (u) => tf.mul(u, coefficient)), state };
    },
  };
}
