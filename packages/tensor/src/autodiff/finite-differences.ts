/**
 * Finite-difference references for derivatives, to check a model's gradients and Hessian-vector
 * products independently of autodiff: central differences with one Richardson step (error
 * O(h^4)), from loss values and from gradients. In float32, expect agreement to about 1e-4
 * relative for well-scaled losses with h = 1e-2; a missing second-order term shows as percents.
 */
import type { ParamSet } from '../param-set.js';
import { tf } from '../tf.js';
import { gradFlat, type LossFunction } from './gradients.js';

/**
 * d/ds g(w + s v) at s = 0 for a vector-valued g of the parameters, by central differences
 * with one Richardson step: (4 D(h/2) - D(h)) / 3. Leaves the parameters at w.
 */
function derivativeAlong(
  params: ParamSet,
  v: Float64Array,
  h: number,
  g: () => Float64Array,
): Float64Array {
  const w = Float64Array.from(params.flatten());
  const gAt = (s: number) => {
    params.assign(w.map((x, i) => x + s * v[i]!));
    return g();
  };
  const central = (step: number) => {
    const plus = gAt(step);
    const minus = gAt(-step);
    return plus.map((p, i) => (p - minus[i]!) / (2 * step));
  };
  const coarse = central(h);
  const fine = central(h / 2);
  params.assign(w);
  return fine.map((f, i) => (4 * f - coarse[i]!) / 3);
}

/** d/ds f(w + s v) at s = 0, from loss values. */
export function fdDirectionalDerivative(
  loss: LossFunction,
  params: ParamSet,
  v: Float64Array,
  h = 1e-2,
): number {
  const value = () => Float64Array.of(tf.tidy(() => loss(params.values()).dataSync()[0]!));
  return derivativeAlong(params, v, h, value)[0]!;
}

/** H v from differences of gradients along v. */
export function fdHessianVectorProduct(
  loss: LossFunction,
  params: ParamSet,
  v: Float64Array,
  h = 1e-2,
): Float64Array {
  return derivativeAlong(params, v, h, () => gradFlat(loss, params).grad);
}
