/**
 * Gradient transformations in the style of optax: an optimizer is
 * `{ init(params) -> state, update(grads, state, params) -> { updates, state } }`, and
 * `chain(a, b, c)` feeds a's updates into b, b's into c. Updates are added to the parameters.
 */
import { TdxError } from '@tdx/core';
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
      merged(
        'metric',
        transforms.map((t, i) => t.metrics?.(state[i])),
      ),
    hyperparameters: () =>
      merged(
        'hyperparameter',
        transforms.map((t) => t.hyperparameters?.()),
      ),
  };
}

/**
 * The union of the transformations' numbers. Two that report the same name would overwrite one
 * another silently: a composition error, named here (which transformations, which name).
 */
function merged(
  what: string,
  parts: ReadonlyArray<Record<string, number> | undefined>,
): Record<string, number> {
  const out: Record<string, number> = {};
  const from: Record<string, number> = {};
  parts.forEach((part, i) => {
    for (const [key, value] of Object.entries(part ?? {})) {
      if (key in out)
        throw new TdxError(
          'INVALID_ARGUMENT',
          `chain: transformations ${from[key]} and ${i} both report the ${what} "${key}"`,
          { hint: 'give one of them another name for it, or drop it from one' },
        );
      out[key] = value;
      from[key] = i;
    }
  });
  return out;
}

/** Passes gradients through unchanged. */
export function identity(): GradientTransformation<null> {
  return { init: () => null, update: (grads, state) => ({ updates: grads, state }) };
}
