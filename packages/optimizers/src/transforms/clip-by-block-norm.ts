import { mapValues, tf, type GradientTransformation } from '@tdx/tensor';

/**
 * Scales each block's update on its own so that its L2 (Frobenius) norm is at most `maxNorm`:
 * g_b ← g_b · min(1, maxNorm / ‖g_b‖). Ahn et al.'s depth experiments (variable_L_exp.ipynb,
 * `clip_and_step`) clip every layer's and head's P and Q gradient this way, with one threshold
 * for all matrices (0.01 there), unlike train.ipynb's global clipping. No 1e-6 in the
 * denominator, as their loop (`if norm > r: g *= r / norm`); a zero block stays zero.
 */
export function clipByBlockNorm(maxNorm: number): GradientTransformation<null> {
  return {
    init: () => null,
    update: (updates, state) => ({
      updates: mapValues(updates, (u) => {
        const norm = tf.sqrt(tf.sum(tf.square(u)));
        // maxNorm / 0 is +Inf, so the minimum keeps a zero block as it is.
        return tf.mul(u, tf.minimum(1, tf.div(maxNorm, norm)));
      }),
      state,
    }),
  };
}
