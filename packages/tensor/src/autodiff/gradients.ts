/**
 * First and second derivatives of a loss over a ParamSet.
 *
 * A loss is a function of the parameter values (a map from block name to tensor), so the
 * same loss can be evaluated at the variables or at any other point (finite differences,
 * landscapes) without touching the variables.
 *
 * A parameter that does not reach the loss gets a zero gradient, not an exception
 * (tf.grads throws in that case; the engine's own `gradients` with allowNoGradients does not).
 */
import { TdxError } from '@tdx/core';
import type { ParamSet, ParamValues } from '../param-set.js';
import { tf, type Scalar, type Tensor } from '../tf.js';

export type LossFunction = (values: ParamValues) => Scalar;

/** d f / d xs, zeros for an x that f does not depend on. Call inside tf.tidy. */
export function gradientsOf(
  f: () => Tensor,
  xs: readonly Tensor[],
): { value: Tensor; grads: Tensor[] } {
  if (xs.length === 0)
    throw new TdxError(
      'INVALID_ARGUMENT',
      'no parameters to differentiate with respect to (are all blocks frozen?)',
    );
  const { value, grads } = tf.engine().gradients(
    () => {
      const y = f();
      if (y.rank !== 0) {
        throw new TdxError(
          'SHAPE_MISMATCH',
          `a loss must be a scalar, got a tensor of shape [${y.shape.join(', ')}]`,
          {
            hint: 'reduce it, e.g. with tf.mean',
          },
        );
      }
      return y;
    },
    xs as Tensor[],
    undefined,
    true,
  );
  return { value, grads: grads.map((g, i) => g ?? tf.zerosLike(xs[i]!)) };
}

/**
 * The loss at the current parameter values (or at `at`, for the blocks it names) and its
 * gradient with respect to `wrt` (default: the trainable blocks). The loss sees every block's
 * value, frozen ones included.
 * Returns tensors: call inside tf.tidy, or dispose them.
 */
export function valueAndGrad(
  loss: LossFunction,
  params: ParamSet,
  options: { wrt?: ParamSet; at?: ParamValues } = {},
): { value: Scalar; grads: ParamValues } {
  const wrt = options.wrt ?? params.trainable();
  // `at` moves some blocks elsewhere (an integrator's trial point); the others keep their values.
  const values = { ...params.values(), ...options.at };
  const { value, grads } = gradientsOf(
    () => loss(values),
    wrt.blocks.map((b) => values[b.name]!),
  );
  return {
    value: value as Scalar,
    grads: Object.fromEntries(wrt.blocks.map((b, i) => [b.name, grads[i]!])),
  };
}

/**
 * Hessian-vector product H v by double backward: the gradient of <grad f, v>.
 * `v` holds one tensor per block of `wrt` (default: the trainable blocks).
 * Exact (to float32 rounding) for every kernel tdx audits; see exact-gradients.ts.
 * Returns tensors: call inside tf.tidy, or dispose them.
 */
export function hvp(
  loss: LossFunction,
  params: ParamSet,
  v: ParamValues,
  options: { wrt?: ParamSet } = {},
): ParamValues {
  const wrt = options.wrt ?? params.trainable();
  const xs = wrt.blocks.map((b) => b.variable);
  for (const b of wrt.blocks) {
    const vb = v[b.name];
    if (!vb) throw new TdxError('INVALID_ARGUMENT', `the vector lacks block "${b.name}"`);
    if (!tf.util.arraysEqual(vb.shape, b.shape as number[])) {
      throw new TdxError(
        'SHAPE_MISMATCH',
        `block "${b.name}" has shape [${b.shape}], the vector's part has [${vb.shape}]`,
      );
    }
  }
  const values = params.values();
  const { grads } = gradientsOf(() => {
    const { grads: g } = gradientsOf(() => loss(values), xs);
    return tf.addN(wrt.blocks.map((b, i) => tf.sum(tf.mul(g[i]!, v[b.name]!))));
  }, xs);
  return Object.fromEntries(wrt.blocks.map((b, i) => [b.name, grads[i]!]));
}

/**
 * H v for a host vector over the blocks of `wrt`, in float64 on the host (the product itself
 * is computed in float32). No tensors escape. This is what Lanczos and power iteration use.
 */
export function hvpFlat(
  loss: LossFunction,
  params: ParamSet,
  v: ArrayLike<number>,
  options: { wrt?: ParamSet } = {},
): Float64Array {
  const wrt = options.wrt ?? params.trainable();
  const flat = tf.tidy(() => {
    const parts = wrt.unflatten(v);
    return wrt.concat(hvp(loss, params, parts, { wrt }));
  });
  const out = Float64Array.from(flat.dataSync());
  flat.dispose();
  return out;
}

/** The gradient as a host vector over the blocks of `wrt`, and the loss value. No tensors escape. */
export function gradFlat(
  loss: LossFunction,
  params: ParamSet,
  options: { wrt?: ParamSet } = {},
): { value: number; grad: Float64Array } {
  const wrt = options.wrt ?? params.trainable();
  const [value, flat] = tf.tidy(() => {
    const { value: v, grads } = valueAndGrad(loss, params, { wrt });
    return [v, wrt.concat(grads)];
  });
  const result = { value: value.dataSync()[0]!, grad: Float64Array.from(flat.dataSync()) };
  value.dispose();
  flat.dispose();
  return result;
}
