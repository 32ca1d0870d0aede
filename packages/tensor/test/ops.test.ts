/** Forward values of tdx's differentiable ops against float64 closed forms. */
import { expect, it } from 'vitest';
import {
  embedding,
  gelu,
  gradFlat,
  layerNorm,
  logSigmoid,
  logSoftmax,
  logSumExp,
  meanSquaredError,
  ParamSet,
  Rng,
  softmax,
  softmaxCrossEntropy,
  stopGradient,
  tf,
  type Scalar,
} from '../src/index.js';
import { describeEachBackend } from './support/backends.js';

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), an independent reference. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return Math.sign(x) * y;
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describeEachBackend('ops', () => {
  it('logSumExp and logSoftmax are exact and stable for large inputs', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([
        [1000, 1001, 999],
        [-3, 0.5, 2],
      ]);
      const lse = values(logSumExp(x, -1));
      const ref = [
        [1000, 1001, 999],
        [-3, 0.5, 2],
      ].map((r) => {
        const m = Math.max(...r);
        return m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0));
      });
      lse.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 3));
      const ls = logSoftmax(x);
      // float32 spacing near 1000 is 6e-5, which bounds how exact x - lse can be.
      values(tf.sum(tf.exp(ls), -1)).forEach((s) => expect(s).toBeCloseTo(1, 3));
      expect(values(softmax(x, 0)).every(Number.isFinite)).toBe(true);
      expect(logSumExp(x, 1, true).shape).toEqual([2, 1]);
    });
  });

  it('gelu matches x Φ(x) and its tanh approximation', () => {
    const xs = [-3, -1.2, -0.1, 0, 0.4, 1, 2.5];
    tf.tidy(() => {
      const exact = values(gelu(tf.tensor1d(xs), 'exact'));
      const approx = values(gelu(tf.tensor1d(xs), 'tanh'));
      xs.forEach((x, i) => {
        expect(exact[i]).toBeCloseTo(0.5 * x * (1 + erf(x / Math.SQRT2)), 5);
        expect(approx[i]).toBeCloseTo(
          0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
          5,
        );
      });
    });
  });

  it('layerNorm gives zero mean and unit variance before its affine map', () => {
    tf.tidy(() => {
      const x = new Rng(1).normalTensor([3, 8], 2, 5);
      const y = layerNorm(x);
      values(tf.mean(y, -1)).forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-5));
      values(tf.mean(tf.square(y), -1)).forEach((v) => expect(v).toBeCloseTo(1, 3));
      const affine = layerNorm(x, tf.fill([8], 2), tf.fill([8], -1));
      values(tf.mean(affine, -1)).forEach((m) => expect(m).toBeCloseTo(-1, 4));
    });
  });

  it('softmaxCrossEntropy equals -mean log p(label), for labels and for probabilities', () => {
    tf.tidy(() => {
      const logits = [
        [2, 0.5, -1],
        [0, 0, 3],
      ];
      const labels = [0, 2];
      const ref =
        -labels.reduce((s, c, i) => {
          const r = logits[i]!;
          const lse = Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
          return s + r[c]! - lse;
        }, 0) / 2;
      expect(
        softmaxCrossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32')).dataSync()[0],
      ).toBeCloseTo(ref, 5);
      const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat();
      expect(softmaxCrossEntropy(tf.tensor2d(logits), oneHot).dataSync()[0]).toBeCloseTo(ref, 5);
    });
  });

  it('meanSquaredError, logSigmoid and embedding compute what they say', () => {
    tf.tidy(() => {
      expect(
        meanSquaredError(tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 0, 0])).dataSync()[0],
      ).toBeCloseTo(13 / 3, 5);
      values(logSigmoid(tf.tensor1d([-50, 0, 3]))).forEach((v, i) =>
        expect(v).toBeCloseTo(-Math.log1p(Math.exp(-[-50, 0, 3][i]!)), 4),
      );
      const table = tf.tensor2d([
        [0, 1],
        [2, 3],
        [4, 5],
      ]);
      expect(values(embedding(table, tf.tensor1d([2, 0, 2], 'int32')))).toEqual([4, 5, 0, 1, 4, 5]);
      expect(embedding(table, tf.tensor2d([[1, 1]], [1, 2], 'int32')).shape).toEqual([1, 2, 2]);
    });
  });

  it('stopGradient passes the value and blocks the derivative', () => {
    const params = ParamSet.create([{ name: 'x', role: 'other', init: tf.tensor1d([3]) }]);
    const loss = (p: Record<string, tf.Tensor>) =>
      tf.sum(tf.mul(p.x!, stopGradient(tf.square(p.x!)))) as Scalar;
    const { value, grad } = gradFlat(loss, params);
    expect(value).toBe(27);
    expect(grad[0]).toBe(9);
    params.dispose();
  });
});
