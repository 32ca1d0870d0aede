import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type Problem } from '@tdx/core';
import { Rng, tf, useBackend, type Dataset } from '@tdx/tensor';
import {
  blockRanges,
  loadMnist,
  markovChain,
  quadraticConfig,
  quadraticProblem,
  register,
} from '../src/index.js';

beforeAll(() => useBackend('cpu'));
const registry = () => register(createRegistry());
const dataset = (ref: Record<string, unknown>, seed = 1) =>
  registry().create<Dataset>('dataset', ref, { seed });

describe('quadratic', () => {
  it('builds block-diagonal H with exactly the eigenvalues of its construction and condition number', () => {
    for (const construction of ['heterogeneous', 'homogeneous'] as const) {
      const config = quadraticConfig.parse({
        construction,
        blocks: 3,
        blockSize: 8,
        conditionNumber: 500,
        blockConditionNumber: 5,
      });
      const problem = quadraticProblem(config, 2);
      const H = new Matrix(
        Array.from({ length: problem.n }, (_, i) =>
          Array.from(problem.H.subarray(i * problem.n, (i + 1) * problem.n)),
        ),
      );
      // Block-diagonal: nothing couples two blocks.
      expect(H.get(0, 8)).toBe(0);
      expect(H.get(20, 3)).toBe(0);
      const computed = [
        ...new EigenvalueDecomposition(H, { assumeSymmetric: true }).realEigenvalues,
      ].sort((a, b) => a - b);
      const specified = problem.eigenvalues.flat().sort((a, b) => a - b);
      computed.forEach((x, i) =>
        expect(Math.abs(x - specified[i]!)).toBeLessThan(1e-9 * specified.at(-1)!),
      );
      expect(computed.at(-1)! / computed[0]!).toBeCloseTo(500, 6);
      // The optimum: f(H⁻¹h) = −½ hᵀH⁻¹h, the value the dataset reports.
      const w = solve(H, Matrix.columnVector(Array.from(problem.h)));
      const f =
        0.5 * w.transpose().mmul(H).mmul(w).get(0, 0) -
        Array.from(problem.h).reduce((s, x, i) => s + x * w.get(i, 0), 0);
      expect(f).toBeCloseTo(problem.optimum, 8);
      // The minimiser it hands to models is that solution.
      Array.from(problem.minimiser).forEach((x, i) => expect(x).toBeCloseTo(w.get(i, 0), 9));
    }
    const hetero = blockRanges(
      quadraticConfig.parse({ blocks: 3, conditionNumber: 1000, blockConditionNumber: 10 }),
    );
    expect(hetero.map((r) => [+r.min.toFixed(6), +r.max.toFixed(6)])).toEqual([
      [1, 10],
      [10, 100],
      [100, 1000],
    ]);
  });

  it('gives the problem as one batch, the same at every step', () => {
    const data = dataset({ name: 'quadratic', blocks: 2, blockSize: 3 });
    expect(data.info).toMatchObject({
      task: 'quadratic',
      inputShape: [6, 6],
      targetShape: [2, 6],
      meta: { blockSizes: '3,3', conditionNumber: 5000 },
    });
    tf.tidy(() => {
      const a = data.batch(0);
      const b = data.batch(99);
      expect(a.inputs.shape).toEqual([1, 6, 6]);
      expect(a.targets.shape).toEqual([1, 2, 6]); // h and the minimiser
      expect(Array.from(a.inputs.dataSync())).toEqual(Array.from(b.inputs.dataSync()));
    });
    data.dispose();
  });

  it('rejects inconsistent configs at their paths', () => {
    const problems = (ref: Record<string, unknown>): Problem[] =>
      registry().check('dataset', { name: 'quadratic', ...ref }, 'dataset').problems;
    expect(problems({ construction: 'custom' })).toEqual([
      { path: 'dataset.ranges', message: 'construction: custom needs ranges: [{ min, max }, ...]' },
    ]);
    expect(problems({ conditionNumber: 10, blockConditionNumber: 20 })[0]).toMatchObject({
      path: 'dataset.blockConditionNumber',
    });
  });
});

describe('markov-text', () => {
  it('samples from a chain whose statistics it reports', () => {
    const chain = markovChain(5, 0.5, new Rng(3));
    for (let i = 0; i < 5; i++)
      expect(chain.transitions.subarray(i * 5, i * 5 + 5).reduce((s, x) => s + x, 0)).toBeCloseTo(
        1,
        12,
      );
    // Stationary: π P = π.
    for (let j = 0; j < 5; j++) {
      const piP = Array.from(
        { length: 5 },
        (_, i) => chain.stationary[i]! * chain.transitions[i * 5 + j]!,
      ).reduce((s, x) => s + x, 0);
      expect(piP).toBeCloseTo(chain.stationary[j]!, 10);
    }
    expect(chain.entropyRate).toBeGreaterThan(0);
    expect(chain.entropyRate).toBeLessThan(Math.log(5));
  });

  it('makes next-token targets with transition frequencies that match the chain', () => {
    const data = dataset({
      name: 'markov-text',
      vocabulary: 6,
      length: 50,
      batchSize: 200,
      concentration: 1,
    });
    expect(data.info).toMatchObject({
      task: 'language-modelling',
      inputShape: [50],
      targetShape: [50],
      meta: { vocabulary: 6 },
    });
    const { inputs, targets } = tf.tidy(() => {
      const b = data.batch(0);
      return { inputs: Array.from(b.inputs.dataSync()), targets: Array.from(b.targets.dataSync()) };
    });
    // Targets are the inputs shifted by one within each sequence.
    for (let s = 0; s < 200; s++)
      for (let t = 0; t < 49; t++) expect(targets[s * 50 + t]).toBe(inputs[s * 50 + t + 1]);
    const counts = Array.from({ length: 6 }, () => new Array<number>(6).fill(0));
    inputs.forEach((x, k) => counts[x]![targets[k]!]!++);
    const chain = markovChain(6, 1, new Rng(1).fork('chain'));
    counts.forEach((row, i) => {
      const total = row.reduce((s, c) => s + c, 0);
      row.forEach((c, j) =>
        expect(Math.abs(c / total - chain.transitions[i * 6 + j]!)).toBeLessThan(
          5 * Math.sqrt(0.25 / total) + 0.01,
        ),
      );
    });
    expect(data.info.meta.entropyRate).toBeCloseTo(chain.entropyRate, 12);
    data.dispose();
  });
});

describe('mnist', () => {
  it('loads the 10,000 digits of the mnist package', () => {
    const { pixels, labels } = loadMnist();
    expect(labels.length).toBe(10000);
    expect(pixels.length).toBe(10000 * 784);
    expect(new Set(labels)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(Math.max(...pixels.subarray(0, 784 * 20))).toBeLessThanOrEqual(1);
  });

  it('walks each epoch through every training digit once, deterministically, apart from the test split', () => {
    const data = dataset({
      name: 'mnist',
      trainFraction: 0.01,
      batchSize: 20,
      evalBatchSize: 50,
      downsample: 4,
    });
    expect(data.info).toMatchObject({
      task: 'image-classification',
      inputShape: [7, 7, 1],
      meta: { classes: 10, train: 100, test: 9900 },
    });
    const key = (step: number) =>
      tf.tidy(() => {
        const { inputs } = data.batch(step);
        const v = inputs.arraySync() as number[][][][];
        return v.map((img) => JSON.stringify(img));
      });
    const epoch = [0, 1, 2, 3, 4].flatMap(key);
    expect(new Set(epoch).size).toBe(100);
    expect(key(3)).toEqual(key(3));
    expect(new Set(key(5))).not.toEqual(new Set(key(0))); // the next epoch, shuffled again
    const reserve = key(-1);
    expect(reserve).not.toEqual(key(0));
    const evalImages = tf.tidy(() =>
      (data.evalBatch!().inputs.arraySync() as number[][][][]).map((img) => JSON.stringify(img)),
    );
    expect(evalImages.some((img) => epoch.includes(img))).toBe(false);
    data.dispose();
  });

  it('with evalSplit: train and one batch the size of the training set, evaluates on exactly the training digits', () => {
    const data = dataset({
      name: 'mnist',
      trainFraction: 0.01,
      batchSize: 100,
      evalBatchSize: 100,
      downsample: 4,
      evalSplit: 'train',
    });
    const sorted = (batch: { inputs: tf.Tensor; targets: tf.Tensor }) => {
      const images = batch.inputs.arraySync() as number[][][][];
      const labels = batch.targets.arraySync() as number[];
      return images.map((img, i) => `${labels[i]}:${JSON.stringify(img)}`).sort();
    };
    const evaluation = tf.tidy(() => sorted(data.evalBatch!()));
    expect(new Set(evaluation).size).toBe(100);
    expect(tf.tidy(() => sorted(data.batch(0)))).toEqual(evaluation);
    expect(tf.tidy(() => sorted(data.batch(7)))).toEqual(evaluation);
    data.dispose();
  });

  it('downsamples by averaging pixel squares', () => {
    const full = dataset({ name: 'mnist', batchSize: 1, downsample: 1 });
    const small = dataset({ name: 'mnist', batchSize: 1, downsample: 2 });
    tf.tidy(() => {
      const a = full.batch(0).inputs.arraySync() as number[][][][];
      const b = small.batch(0).inputs.arraySync() as number[][][][];
      const expected =
        (a[0]![4]![6]![0]! + a[0]![4]![7]![0]! + a[0]![5]![6]![0]! + a[0]![5]![7]![0]!) / 4;
      expect(b[0]![2]![3]![0]).toBeCloseTo(expected, 6);
    });
  });
});
