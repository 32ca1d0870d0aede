import {
  mapValues,
  tf,
  zipValues,
  type GradientTransformation,
  type ParamValues,
} from '@tdx/tensor';

export interface TraceOptions {
  /** Momentum coefficient μ. */
  decay: number;
  /** Nesterov: return g + μ t instead of t. */
  nesterov?: boolean;
}

/**
 * Momentum: t <- μ t + g; updates = t (or g + μ t with Nesterov). With scaleByLearningRate
 * this is PyTorch's SGD with momentum (dampening 0).
 */
export function trace(options: TraceOptions): GradientTransformation<{ momentum: ParamValues }> {
  const { decay, nesterov = false } = options;
  return {
    init: (params) => ({ momentum: mapValues(params, (p) => tf.zerosLike(p)) }),
    update: (grads, state) => {
      const momentum = zipValues([grads, state.momentum], ([g, t]) =>
        tf.add(tf.mul(t!, decay), g!),
      );
      const updates = nesterov
        ? zipValues([grads, momentum], ([g, t]) => tf.add(g!, tf.mul(t!, decay)))
        : momentum;
      return { updates, state: { momentum } };
    },
  };
}
