/**
 * Gradient transformations in the style of optax: an optimizer is
 * `{ init(params) -> state, update(grads, state, params) -> { updates, state } }`, and
 * `chain(a, b, c)` feeds a's updates into b, b's into c. Updates are added to the parameters.
 */
import type { GradientTransformation } from '@tdx/tensor';

export type { GradientTransformation } from '@tdx/tensor';

/** Composes transformations left to right; the state is the list of their states. */
export function chain(
  ...transforms: GradientTransformation<unknown>[]
): GradientTransformation<unknown[]> {
  return {
    init: (params, context) => transforms.map((t) => t.init(params, context)),

    update: (grads, state, params, context) => {
      let updates = grads;
      const next = transforms.map((t, i) => {
        const out = t.update(updates, state[i], params, context);
        updates = out.updates;
        return out.state;
      });
      return { updates, state: next };
    },

    metrics: (state) =>
      Object.assign({}, ...transforms.map((t, i) => t.metrics?.(state[i]) ?? {})) as Record<
        string,
        number
      >,
  };
}

/** Passes gradients through unchanged. */
export function identity(): GradientTransformation<null> {
  return { init: () => null, update: (grads, state) => ({ updates: grads, state }) };
}
