import {
  mapValues,
  tf,
  zipValues,
  type GradientTransformation,
  type ParamValues,
} from '@tdx/tensor';

export interface AdamOptions {
  b1: number;
  /** In [0, 1]; 1 is the limit case described on scaleByAdam. */
  b2: number;
  eps: number;
  /** `zero` (Kingma & Ba, PyTorch) or `gradient`: v starts at the first step's g². */
  secondMomentInit?: 'zero' | 'gradient';
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
 *
 * b2 = 1: the correction 1 - b2^t is 0 and v stays 0, so PyTorch's formula is 0/0. tdx takes its
 * limit as b2 -> 1, v̂_t = (1/t) Σ_{s≤t} g_s², the running mean of the squared gradients,
 * updated as v <- v + (g² - v)/t (so v̂ = v).
 *
 * secondMomentInit `gradient`: v starts at the first step's g² instead of 0 and is not
 * bias-corrected (it is not biased towards 0), v_1 = g_1², then v <- b2 v + (1-b2) g². With
 * b2 = 1, v stays g_1² for the whole run: a fixed diagonal preconditioner, the Adam of the
 * convergence theorem of Zhang et al. (NeurIPS 2024, β1 = 0, β2 = 1, v_0 the initial squared
 * gradient).
 */
export function scaleByAdam(options: AdamOptions): GradientTransformation<AdamState> {
  const { b1, b2, eps } = options;
  const fromGradient = options.secondMomentInit === 'gradient';
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
      const nu = zipValues([grads, state.nu], ([g, v]) => {
        if (fromGradient && count === 1) return tf.square(g!);
        if (b2 === 1)
          return fromGradient ? tf.clone(v!) : tf.add(v!, tf.div(tf.sub(tf.square(g!), v!), count));
        return tf.add(tf.mul(v!, b2), tf.mul(tf.square(g!), 1 - b2));
      });
      const c1 = 1 - b1 ** count;
      // The running mean (b2 = 1) and a v started at g² carry no bias towards 0.
      const c2 = fromGradient || b2 === 1 ? 1 : 1 - b2 ** count;
      const updates = zipValues([mu, nu], ([m, v]) =>
        tf.div(tf.div(m!, c1), tf.add(tf.sqrt(tf.div(v!, c2)), eps)),
      );
      return { updates, state: { count, mu, nu } };
    },
  };
}
