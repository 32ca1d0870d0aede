import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type Plugin } from '@tdx/core';
import { tf, useBackend, type Dataset } from '@tdx/tensor';
import {
  teacherKernelWeights,
  tokenRegression,
  tokenRegressionConfig,
  tokenRegressionData,
} from '../src/token-regression.js';

beforeAll(() => useBackend('cpu'));
const registry = () => createRegistry().register(tokenRegression as Plugin);
const dataset = (ref: Record<string, unknown>, seed = 1) =>
  registry().create<Dataset>('dataset', { name: 'token-regression', ...ref }, { seed });

describe('token-regression', () => {
  it('gives one fixed full batch [N, n, d] -> [N, n, out] at every step, and describes it', () => {
    const data = dataset({ sequences: 3, tokens: 5, dimension: 8, outputs: 2 });
    expect(data.info).toEqual({
      task: 'token-regression',
      inputShape: [5, 8],
      targetShape: [5, 2],
      meta: {
        sequences: 3,
        tokens: 5,
        dimension: 8,
        outputs: 2,
        totalTokens: 15,
        overparameterized: false,
        targets: 'random',
        evalSequences: 0,
      },
    });
    const before = tf.memory().numTensors;
    const [a, b] = [0, 17].map((step) =>
      tf.tidy(() => {
        const batch = data.batch(step);
        expect(batch.inputs.shape).toEqual([3, 5, 8]);
        expect(batch.targets.shape).toEqual([3, 5, 2]);
        return [Array.from(batch.inputs.dataSync()), Array.from(batch.targets.dataSync())];
      }),
    );
    expect(a).toEqual(b);
    // The evaluation batch is the training set, owned by the dataset.
    const evaluation = data.evalBatch!();
    expect(Array.from(evaluation.inputs.dataSync())).toEqual(a![0]);
    expect(data.evalBatch!()).toBe(evaluation);
    data.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // Defaults: N = 4, n = 4, d = 32 ≥ N·n, out = d.
    const defaults = dataset({});
    expect(defaults.info.inputShape).toEqual([4, 32]);
    expect(defaults.info.targetShape).toEqual([4, 32]);
    expect(defaults.info.meta.overparameterized).toBe(true);
    defaults.dispose();
  });

  it('draws tokens with N(0, 1/d) entries (E‖x‖² = 1) and random targets with targetStd', () => {
    const config = tokenRegressionConfig.parse({
      sequences: 50,
      tokens: 20,
      dimension: 64,
      outputs: 16,
      targetStd: 2,
    });
    const { train } = tokenRegressionData(config, 3);
    const tokens = train.inputs.length / 64;
    let squared = 0;
    for (const x of train.inputs) squared += x * x;
    // 1000 tokens of 64 entries: the mean of ‖x‖² has standard deviation √(2/64/1000) ≈ 0.006.
    expect(squared / tokens).toBeCloseTo(1, 1);
    // 16000 entries: the sample standard deviation is within 2 ± 0.011 (one sigma).
    const variance = train.targets.reduce((s, y) => s + y * y, 0) / train.targets.length;
    expect(Math.abs(Math.sqrt(variance) - 2)).toBeLessThan(0.05);
  });

  it('is a pure function of its seed, and the config seed overrides the run seed', () => {
    const config = tokenRegressionConfig.parse({ sequences: 2, tokens: 3, dimension: 4 });
    expect(tokenRegressionData(config, 5)).toEqual(tokenRegressionData(config, 5));
    expect(tokenRegressionData(config, 5).train.inputs).not.toEqual(
      tokenRegressionData(config, 6).train.inputs,
    );
    const seeded = { ...config, seed: 9 };
    expect(tokenRegressionData(seeded, 5)).toEqual(tokenRegressionData(seeded, 6));
  });

  it('teacher targets are S_i X_i V of the teacher, with softmax or gaussian weights', () => {
    const [N, n, d, out] = [2, 3, 4, 2];
    for (const kernel of ['softmax', 'gaussian'] as const) {
      const config = tokenRegressionConfig.parse({
        sequences: N,
        tokens: n,
        dimension: d,
        outputs: out,
        targets: 'teacher',
        teacherKernel: kernel,
      });
      const { train, teacher } = tokenRegressionData(config, 4);
      expect(teacher!.kernel).toBe(kernel);
      const row = (m: Float64Array, cols: number, r: number) =>
        Array.from(m.subarray(r * cols, (r + 1) * cols));
      const times = (x: number[], W: Float64Array, cols: number) =>
        Array.from({ length: cols }, (_, c) => x.reduce((s, v, k) => s + v * W[k * cols + c]!, 0));
      for (let s = 0; s < N; s++) {
        const X = Array.from({ length: n }, (_, t) => row(train.inputs, d, s * n + t));
        const q = X.map((x) => times(x, teacher!.query, d));
        const k = X.map((x) => times(x, teacher!.key, d));
        const v = X.map((x) => times(x, teacher!.value, out));
        for (let i = 0; i < n; i++) {
          // The kernel from its definition, independently of teacherKernelWeights.
          const raw = k.map((kj) =>
            kernel === 'softmax'
              ? Math.exp(q[i]!.reduce((a, x, c) => a + x * kj[c]!, 0) / Math.sqrt(d))
              : Math.exp(-q[i]!.reduce((a, x, c) => a + (x - kj[c]!) ** 2, 0) / (2 * Math.sqrt(d))),
          );
          const total = kernel === 'softmax' ? raw.reduce((a, b) => a + b, 0) : 1;
          const y = Array.from({ length: out }, (_, c) =>
            raw.reduce((a, w, j) => a + (w / total) * v[j]![c]!, 0),
          );
          y.forEach((value, c) =>
            expect(train.targets[(s * n + i) * out + c]).toBeCloseTo(value, 12),
          );
        }
      }
    }
    // Softmax rows sum to 1; Gaussian weights lie in (0, 1] and are 1 only where q = k.
    const q = Float64Array.of(1, 0, 0, 1);
    expect(teacherKernelWeights('gaussian', q, q, 2, 2)[0]).toBe(1);
    const S = teacherKernelWeights('softmax', q, Float64Array.of(0, 2, 1, 1), 2, 2);
    expect(S[0]! + S[1]!).toBeCloseTo(1, 15);
  });

  it('holds out evalSequences from the same teacher, and rejects noise on random targets', () => {
    const data = dataset({
      sequences: 2,
      tokens: 3,
      dimension: 8,
      targets: 'teacher',
      evalSequences: 5,
      noise: 0.1,
    });
    const evaluation = data.evalBatch!();
    expect(evaluation.inputs.shape).toEqual([5, 3, 8]);
    expect(evaluation.targets.shape).toEqual([5, 3, 8]);
    expect(data.info.meta).toMatchObject({ teacherKernel: 'softmax', noise: 0.1 });
    data.dispose();
    const problems = registry().check(
      'dataset',
      { name: 'token-regression', noise: 0.1 },
      'dataset',
    ).problems;
    expect(problems.map((p) => p.path)).toEqual(['dataset.noise']);
  });
});
