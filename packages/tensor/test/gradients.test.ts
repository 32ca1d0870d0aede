/**
 * valueAndGrad and hvp against closed forms: a quadratic (H = A exactly) and a small tanh
 * network whose Hessian is derived by hand and evaluated in float64. Also: TF.js's stock
 * gradients fail the same checks, which is why tdx replaces them.
 */
import { expect, it } from 'vitest';
import {
  gradFlat,
  hvp,
  hvpFlat,
  ParamSet,
  Rng,
  tf,
  valueAndGrad,
  withStockGradient,
  type LossFunction,
  type Scalar,
} from '../src/index.js';
import { describeEachBackend } from './support/backends.js';
import { fdHessianVectorProduct } from '../src/autodiff/finite-differences.js';
import { relativeError } from '../src/linalg/host.js';

/** The dense Hessian from n Hessian-vector products with unit vectors, in float64. */
function denseHessian(loss: LossFunction, params: ParamSet): Float64Array[] {
  const n = params.size;
  return Array.from({ length: n }, (_, j) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return hvpFlat(loss, params, e);
  });
}

function maxAbsDiff(a: Float64Array[], b: number[][]): number {
  let worst = 0;
  a.forEach((col, j) => col.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - b[i]![j]!)))));
  return worst;
}

function maxAbs(b: number[][]): number {
  return Math.max(...b.flat().map(Math.abs));
}

/** f(W, v) = 1/2 sum_i (v . tanh(W x_i) - y_i)^2 and its Hessian, derived by hand. */
function tanhNetwork(rng: Rng, k: number, d: number, m: number) {
  const W = Array.from({ length: k }, () => Array.from(rng.normalArray(d, 0, 0.6)));
  const v = Array.from(rng.normalArray(k, 0, 0.8));
  const X = Array.from({ length: m }, () => Array.from(rng.normalArray(d)));
  const y = Array.from(rng.normalArray(m));
  // Parameter order: W row-major (k*d), then v (k).
  const n = k * d + k;
  const H = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const w = (j: number, l: number) => j * d + l;
  const vi = (j: number) => k * d + j;
  for (let i = 0; i < m; i++) {
    const h = W.map((row) => Math.tanh(row.reduce((s, wjl, l) => s + wjl * X[i]![l]!, 0)));
    const s = h.map((hj) => 1 - hj * hj);
    const r = h.reduce((acc, hj, j) => acc + v[j]! * hj, 0) - y[i]!;
    const x = X[i]!;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) H[vi(a)]![vi(b)]! += h[a]! * h[b]!;
    for (let mm = 0; mm < k; mm++)
      for (let j = 0; j < k; j++)
        for (let l = 0; l < d; l++) {
          const value = v[j]! * s[j]! * x[l]! * h[mm]! + (mm === j ? r * s[j]! * x[l]! : 0);
          H[vi(mm)]![w(j, l)]! += value;
          H[w(j, l)]![vi(mm)]! += value;
        }
    for (let j = 0; j < k; j++)
      for (let l = 0; l < d; l++)
        for (let p = 0; p < k; p++)
          for (let q = 0; q < d; q++) {
            let value = v[j]! * v[p]! * s[j]! * s[p]! * x[l]! * x[q]!;
            if (j === p) value -= 2 * r * v[j]! * h[j]! * s[j]! * x[l]! * x[q]!;
            H[w(j, l)]![w(p, q)]! += value;
          }
  }
  const params = ParamSet.create([
    { name: 'W', role: 'mlp', init: { values: W.flat(), shape: [k, d] } },
    { name: 'v', role: 'head', init: { values: v, shape: [k, 1] } },
  ]);
  const Xt = tf.tensor2d(X.flat(), [m, d]);
  const yt = tf.tensor2d(y, [m, 1]);
  const loss: LossFunction = (p) =>
    tf.mul(
      0.5,
      tf.sum(tf.square(tf.sub(tf.matMul(tf.tanh(tf.matMul(Xt, p.W!, false, true)), p.v!), yt))),
    ) as Scalar;
  return { params, loss, H, dispose: () => (params.dispose(), Xt.dispose(), yt.dispose()) };
}

describeEachBackend('valueAndGrad and hvp', () => {
  it('give a zero gradient, not an exception, for a block the loss does not use', () => {
    const params = ParamSet.create([
      { name: 'used', role: 'other', init: tf.tensor1d([1, 2]) },
      { name: 'unused', role: 'other', init: tf.tensor1d([3]) },
    ]);
    const loss: LossFunction = (p) => tf.sum(tf.square(p.used!)) as Scalar;
    const { value, grad } = gradFlat(loss, params);
    expect(value).toBeCloseTo(5, 6);
    expect(Array.from(grad)).toEqual([2, 4, 0]);
    expect(Array.from(hvpFlat(loss, params, [1, 1, 1]))).toEqual([2, 2, 0]);
    params.dispose();
  });

  it('differentiate only the trainable blocks, while the loss still sees frozen ones', () => {
    const params = ParamSet.create([
      { name: 'a', role: 'query', init: tf.tensor1d([2]) },
      { name: 'b', role: 'key', init: tf.tensor1d([3]) },
    ]).freeze({ role: 'key' });
    const loss: LossFunction = (p) => tf.sum(tf.mul(tf.square(p.a!), p.b!)) as Scalar;
    tf.tidy(() => {
      const { value, grads } = valueAndGrad(loss, params);
      expect(value.dataSync()[0]).toBe(12);
      expect(Object.keys(grads)).toEqual(['a']);
      expect(grads.a!.dataSync()[0]).toBe(12);
      const hv = hvp(loss, params, { a: tf.tensor1d([1]) });
      expect(hv.a!.dataSync()[0]).toBe(6);
    });
    params.dispose();
  });

  it('reject a loss that is not a scalar, saying so', () => {
    const params = ParamSet.create([{ name: 'a', role: 'other', init: tf.tensor1d([1, 2]) }]);
    expect(() => gradFlat((p) => tf.square(p.a!) as unknown as Scalar, params)).toThrow(
      /a loss must be a scalar, got a tensor of shape \[2\]/,
    );
    params.dispose();
  });

  it('reproduce the Hessian of a quadratic over two blocks exactly', () => {
    const rng = new Rng('quadratic');
    const n = 7;
    const B = Array.from({ length: n }, () => Array.from(rng.normalArray(n)));
    const A = B.map((row, i) =>
      row.map((_, j) => B.reduce((s, r) => s + r[i]! * r[j]!, 0) / n - (i === j ? 0.5 : 0)),
    );
    const params = ParamSet.create([
      { name: 'x1', role: 'other', init: { values: rng.normalArray(3), shape: [3] } },
      { name: 'x2', role: 'other', init: { values: rng.normalArray(4), shape: [2, 2] } },
    ]);
    const At = tf.tensor2d(A.flat(), [n, n]);
    const loss: LossFunction = (p) => {
      const x = tf.concat([p.x1!, tf.reshape(p.x2!, [4])]);
      return tf.mul(
        0.5,
        tf.sum(tf.mul(x, tf.squeeze(tf.matMul(At, tf.reshape(x, [n, 1]))))),
      ) as Scalar;
    };
    const H = denseHessian(loss, params);
    expect(maxAbsDiff(H, A)).toBeLessThan(4e-7 * maxAbs(A));
    params.dispose();
    At.dispose();
  });

  it('reproduce the hand-derived Hessian of a small tanh network', () => {
    const net = tanhNetwork(new Rng('tanh-network'), 3, 4, 6);
    const H = denseHessian(net.loss, net.params);
    expect(maxAbsDiff(H, net.H)).toBeLessThan(2e-5 * maxAbs(net.H));
    net.dispose();
  });

  it("show why: TF.js's own Tanh gradient gets this Hessian wrong", () => {
    const net = tanhNetwork(new Rng('tanh-network'), 3, 4, 6);
    const stock = withStockGradient('Tanh', () => denseHessian(net.loss, net.params));
    expect(maxAbsDiff(stock, net.H)).toBeGreaterThan(0.1 * maxAbs(net.H));
    net.dispose();
  });

  for (const kernel of ['Sigmoid', 'Exp', 'Softmax']) {
    it(`show why: TF.js's own ${kernel} gradient fails the finite-difference check`, () => {
      const rng = new Rng(kernel);
      const params = ParamSet.create([
        { name: 'x', role: 'other', init: { values: rng.normalArray(8, 0, 0.7), shape: [2, 4] } },
      ]);
      const c = rng.normalTensor([2, 4]);
      const op = { Sigmoid: tf.sigmoid, Exp: tf.exp, Softmax: (x: tf.Tensor) => tf.softmax(x) }[
        kernel
      ]!;
      const loss: LossFunction = (p) => tf.sum(tf.mul(c, op(tf.mul(p.x!, p.x!)))) as Scalar;
      const v = rng.normalArray(8);
      const fd = fdHessianVectorProduct(loss, params, v);
      expect(relativeError(hvpFlat(loss, params, v), fd)).toBeLessThan(2e-3);
      const stock = withStockGradient(kernel, () => hvpFlat(loss, params, v));
      expect(relativeError(stock, fd)).toBeGreaterThan(0.05);
      params.dispose();
      c.dispose();
    });
  }

  it('leave no tensors behind when used inside tf.tidy', () => {
    const net = tanhNetwork(new Rng('tidy'), 3, 4, 6);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      valueAndGrad(net.loss, net.params);
      hvp(net.loss, net.params, net.params.values());
    });
    hvpFlat(net.loss, net.params, new Float64Array(net.params.size).fill(1));
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });
});
