import {
  mapValues,
  tf,
  zipValues,
  type GradientTransformation,
  type ParamValues,
} from '@tdx/tensor';

export interface AdamOptions {
  b1: number;
  b2: number;
  eps: number;
}

export interface AdamState {
  count: number;
  mu: ParamValues;
  nu: ParamValues;
}

/**
 * Adam's direction (Kingma & Ba 2015): m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g²,
 * updates = m̂ / (√v̂ + eps) with bias-corrected m̂ = m / (1 - b1^t), v̂ = v / (1 - b2^t),
 * exactly PyTorch's Adam step before the learning rate.
 */
export function scaleByAdam(options: AdamOptions): GradientTransformation<AdamState> {
  const { b1, b2, eps } = options;
  return {
    init: (params) => ({
      count: 0,
      mu: mapValues(params, (p) => tf.zerosLike(p)),
      nu: mapValues(params, (p) => tf.zerosLike(p)),
    }),
    update: (grads, state) => {
      const count = state.count + 1;
      const mu = zipValues([grads, state.mu], ([g, m]) =>
        tf.add(tf.mul(m!, b1), tf.mul(g!, 1 - b1)),
      );
      const nu = zipValues([grads, state.nu], ([g, v]) =>
        tf.add(tf.mul(v!, b2), tf.mul(tf.square(g!), 1 - b2)),
      );
      const c1 = 1 - b1 ** count;
      const c2 = 1 - b2 ** count;
      const updates = zipValues([mu, nu], ([m, v]) =>
        tf.div(tf.div(m!, c1), tf.add(tf.sqrt(tf.div(v!, c2)), eps)),
      );
      return { updates, state: { count, mu, nu } };
    },
  };
}
