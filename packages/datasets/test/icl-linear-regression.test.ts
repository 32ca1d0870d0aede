import { describe, expect, it } from 'vitest';
import { Registry } from '@tdx/core';
import { Rng, tf, useBackend, type Dataset } from '@tdx/tensor';
import { register, sampleIclPrompts } from '../src/index.js';

describe('icl-linear-regression', () => {
  it('lays out n (x, y) rows and a query row whose label slot is zero', async () => {
    await useBackend('cpu');
    const registry = register(Registry.create());
    const data = registry.create<Dataset>(
      'dataset',
      { name: 'icl-linear-regression', d: 3, n: 4, batchSize: 2 },
      { seed: 9 },
    );
    expect(data.info).toEqual({
      task: 'icl-linear-regression',
      inputShape: [5, 4],
      targetShape: [],
      meta: { d: 3, n: 4, covariates: 'normal', noise: 0 },
    });
    tf.tidy(() => {
      const { inputs, targets } = data.batch(0);
      expect(inputs.shape).toEqual([2, 5, 4]);
      expect(targets.shape).toEqual([2]);
      const z = inputs.arraySync() as number[][][];
      const y = targets.arraySync() as number[];
      for (let b = 0; b < 2; b++) {
        expect(z[b]![4]![3]).toBe(0);
        // All n labels and the target come from one w: recover it by least squares on the
        // first 3 pairs (exactly determined) and predict the rest.
        const X = z[b]!.slice(0, 3).map((r) => r.slice(0, 3));
        const Y = z[b]!.slice(0, 3).map((r) => r[3]!);
        const w = solve3(X, Y);
        const predict = (x: number[]) => x.reduce((s, v, k) => s + v * w[k]!, 0);
        expect(predict(z[b]![3]!.slice(0, 3))).toBeCloseTo(z[b]![3]![3]!, 3);
        expect(predict(z[b]![4]!.slice(0, 3))).toBeCloseTo(y[b]!, 3);
      }
    });
    data.dispose();
  });

  it('makes each batch a pure function of seed and step, and keeps a fixed eval batch', async () => {
    await useBackend('cpu');
    const registry = register(Registry.create());
    const make = (seed: number) =>
      registry.create<Dataset>(
        'dataset',
        { name: 'icl-linear-regression', batchSize: 4, evalBatchSize: 8 },
        { seed },
      );
    const a = make(1);
    const b = make(1);
    const values = (d: Dataset, step: number) =>
      tf.tidy(() => Array.from(d.batch(step).inputs.dataSync()));
    expect(values(a, 3)).toEqual(values(b, 3));
    expect(values(a, 3)).not.toEqual(values(a, 4));
    expect(values(make(2), 3)).not.toEqual(values(a, 3));
    expect(a.evalBatch!()).toBe(a.evalBatch!());
    expect(a.evalBatch!().inputs.shape).toEqual([8, 21, 6]);
    const before = tf.memory().numTensors;
    a.dispose();
    expect(tf.memory().numTensors).toBe(before - 2);
    b.dispose();
  });

  it('draws x and w from N(0, I): E[y^2] = d', () => {
    const rng = new Rng(5);
    const { tokens, targets } = sampleIclPrompts(rng, { d: 5, n: 20 }, 4000);
    const meanSquare = targets.reduce((s, y) => s + y * y, 0) / targets.length;
    // y = <w, x> with independent standard normals: E[y^2] = E|w|^2 = d. The standard error of
    // the mean of 4000 draws of y^2 is about 0.2 here.
    expect(meanSquare).toBeGreaterThan(4.5);
    expect(meanSquare).toBeLessThan(5.5);
    let sum = 0;
    let sq = 0;
    let count = 0;
    for (let i = 0; i < tokens.length; i += 6)
      for (let k = 0; k < 5; k++) {
        sum += tokens[i + k]!;
        sq += tokens[i + k]! ** 2;
        count++;
      }
    expect(Math.abs(sum / count)).toBeLessThan(0.01);
    expect(sq / count).toBeCloseTo(1, 1);
  });

  it('rejects bad configs with the path and value', () => {
    const registry = register(Registry.create());
    expect(() => registry.create('dataset', { name: 'icl-linear-regression', d: 0 })).toThrow(
      /invalid config for dataset "icl-linear-regression"/,
    );
    expect(
      registry.check('dataset', { name: 'icl-linear-regression', d: 0 }, 'dataset').problems,
    ).toEqual([{ path: 'dataset.d', message: 'must be > 0', value: 0 }]);
    const { problems } = registry.check(
      'dataset',
      { name: 'icl-linear-regression', n: 2.5, batchsize: 10 },
      'dataset',
    );
    expect(problems.map((p) => p.path).sort()).toEqual(['dataset.batchsize', 'dataset.n']);
  });
});

function solve3(A: number[][], b: number[]): number[] {
  const det = (m: number[][]) =>
    m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
    m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) +
    m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const D = det(A);
  return [0, 1, 2].map((k) => det(A.map((row, i) => row.map((v, j) => (j === k ? b[i]! : v)))) / D);
}
