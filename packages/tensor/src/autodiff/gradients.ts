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
import { reverseGradients } from './tape.js';

export type LossFunction = (values: ParamValues) => Scalar;

/** d f / d xs, zeros for an x that f does not depend on. Call inside tf.tidy. */
export function gradientsOf(
  f: () => Tensor,
  xs: readonly Tensor[],
): { value: Tensor; grads: Tensor[] } {
  requireParameters(xs);
  const { values, grads } = reverseGradients(() => {
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
    return [y];
  }, xs);
  return { value: values[0]!, grads };
}

function requireParameters(xs: readonly Tensor[]): void {
  if (xs.length === 0)
    throw new TdxError(
      'INVALID_ARGUMENT',
      'no parameters to differentiate with respect to (are all blocks frozen?)',
    );
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
 * Hessian-vector product H v by double backward: the reverse pass over the gradient's own
 * computation, seeded with v at each block's gradient (the gradient of Σ_b <g_b, v_b>, without
 * forming the sum). `v` holds one tensor per block of `wrt` (default: the trainable blocks).
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
  requireParameters(xs);
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
  const { grads } = reverseGradients(
    () => gradientsOf(() => loss(values), xs).grads,
    xs,
    wrt.blocks.map((b) => v[b.name]!),
  );
  return Object.fromEntries(wrt.blocks.map((b, i) => [b.name, grads[i]!]));
}

/**
 * H v for a host vector over the blocks of `wrt`, in float64 on the host (the product itself
 * is computed in float32). No tensors escape. This is what Lanczos and power iteration use.
 * The vector goes to the backend block by block and the product comes back block by block:
 * uploads and reads, no slicing or concatenating kernels.
 */
export function hvpFlat(
  loss: LossFunction,
  params: ParamSet,
  v: ArrayLike<number>,
  options: { wrt?: ParamSet } = {},
): Float64Array {
  const wrt = options.wrt ?? params.trainable();
  if (v.length !== wrt.size)
    throw new TdxError(
      'SHAPE_MISMATCH',
      `the vector has ${v.length} entries, the blocks have ${wrt.size} parameters`,
    );
  const parts = hostBlocks(wrt, v);
  const products = tf.tidy(() => Object.values(hvp(loss, params, parts, { wrt })));
  tf.dispose(Object.values(parts));
  return readBlocks(products, wrt.size);
}

/** One tensor per block of `wrt`, written from a host vector (no kernel runs). */
function hostBlocks(wrt: ParamSet, v: ArrayLike<number>): ParamValues {
  let offset = 0;
  const parts: ParamValues = {};
  for (const b of wrt.blocks) {
    const values = new Float32Array(b.size);
    for (let i = 0; i < b.size; i++) values[i] = v[offset + i]!;
    parts[b.name] = tf.tensor(values, b.shape as number[], 'float32');
    offset += b.size;
  }
  return parts;
}

/** The blocks' values one after another in float64, and the tensors disposed. */
function readBlocks(blocks: Tensor[], size: number): Float64Array {
  const out = new Float64Array(size);
  let offset = 0;
  for (const t of blocks) {
    out.set(t.dataSync(), offset);
    offset += t.size;
    t.dispose();
  }
  return out;
}

/** The gradient as a host vector over the blocks of `wrt`, and the loss value. No tensors escape. */
export function gradFlat(
  loss: LossFunction,
  params: ParamSet,
  options: { wrt?: ParamSet } = {},
): { value: number; grad: Float64Array } {
  const wrt = options.wrt ?? params.trainable();
  const [value, ...grads] = tf.tidy(() => {
    const { value: v, grads: g } = valueAndGrad(loss, params, { wrt });
    return [v, ...wrt.blocks.map((b) => g[b.name]!)];
  });
  const loss0 = value!.dataSync()[0]!;
  value!.dispose();
  return { value: loss0, grad: readBlocks(grads, wrt.size) };
}
