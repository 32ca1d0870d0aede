import { tf, zipValues, type GradientTransformation } from '@tdx/tensor';

/**
 * updates <- updates + λ params. Before the learning rate and after Adam it is AdamW's
 * decoupled weight decay; before momentum it is SGD's L2 penalty.
 */
export function addDecayedWeights(weightDecay: number): GradientTransformation<null> {
  return {
    init: () => null,
    update: (updates, state, params) => ({
      updates:
        weightDecay === 0
          ? updates
          : zipValues([updates, params], ([u, p]) => tf.add(u!, tf.mul(p!, weightDecay))),
      state,
    }),
    // So that analyses of the regularised objective (mean-field's Q) know λ.
    hyperparameters: () => ({ weightDecay }),
  };
}
