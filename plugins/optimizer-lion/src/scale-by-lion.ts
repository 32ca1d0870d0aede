import {
  tf,
  zipValues,
  mapValues,
  type GradientTransformation,
  type ParamValues,
} from '@tdx/tensor';

export interface LionOptions {
  b1: number;
  b2: number;
}

/**
 * Lion's direction (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"):
 * updates = sign(b1 m + (1 - b1) g), then m <- b2 m + (1 - b2) g.
 */
export function scaleByLion(
  options: LionOptions,
): GradientTransformation<{ momentum: ParamValues }> {
  const { b1, b2 } = options;
  return {
    init: (params) => ({ momentum: mapValues(params, (p) => tf.zerosLike(p)) }),
    update: (grads, state) => ({
      updates: zipValues([grads, state.momentum], ([g, m]) =>
        tf.sign(tf.add(tf.mul(m!, b1), tf.mul(g!, 1 - b1))),
      ),
      state: {
        momentum: zipValues([grads, state.momentum], ([g, m]) =>
          tf.add(tf.mul(m!, b2), tf.mul(g!, 1 - b2)),
        ),
      },
    }),
  };
}
