/** accuracy against host computations for a linear softmax classifier (logits = X W + b). */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type AnalysisInstance } from '@tdx/core';
import {
  ParamSet,
  Rng,
  softmaxCrossEntropy,
  tf,
  useBackend,
  type AnalysisTarget,
  type Batch,
  type ParamValues,
  type Tensor,
  exactnessBackends,
} from '@tdx/tensor';
import {
  accuracy,
  accuracyConfig,
  accuracyFigures,
  accuracyPlugin,
} from '../src/plugins/accuracy.js';

const [D, C] = [3, 4];

interface HostBatch {
  x: number[][];
  y: number[];
}

function hostBatch(seed: number, size: number): HostBatch {
  const rng = new Rng(seed);
  return {
    x: Array.from({ length: size }, () => Array.from(rng.normalArray(D))),
    y: Array.from({ length: size }, () => rng.int(C)),
  };
}

const toBatch = (b: HostBatch): Batch => ({
  inputs: tf.tensor2d(b.x),
  targets: tf.tensor1d(b.y, 'int32'),
});

/** Correct predictions and summed cross-entropy, in float64 on the host. */
function reference(b: HostBatch, W: number[][], bias: number[]): { correct: number; loss: number } {
  let correct = 0;
  let loss = 0;
  b.x.forEach((row, i) => {
    const logits = bias.map((c, k) => c + row.reduce((s, v, j) => s + v * W[j]![k]!, 0));
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0));
    loss += lse - logits[b.y[i]!]!;
    if (logits.indexOf(max) === b.y[i]) correct++;
  });
  return { correct, loss };
}

function linearClassifier(options: { evalBatch: boolean; outputs?: 'logits' | 'vector' }) {
  const rng = new Rng(2);
  const W = Array.from({ length: D }, () => Array.from(rng.normalArray(C, 0, 2)));
  const bias = Array.from(rng.normalArray(C, 0, 0.5));
  const params = ParamSet.create([
    { name: 'w', role: 'head', init: { values: W.flat(), shape: [D, C] } },
    { name: 'b', role: 'bias', init: { values: bias, shape: [C] } },
  ]);
  const predict = (v: ParamValues, x: Tensor): Tensor =>
    tf.tidy(() => {
      const logits = tf.add(tf.matMul(x, v.w!), v.b!);
      return options.outputs === 'vector' ? tf.sum(logits, 1) : logits;
    });
  const model = {
    params,
    predict,
    loss: (v: ParamValues, batch: Batch) =>
      tf.tidy(() =>
        softmaxCrossEntropy(tf.add(tf.matMul(batch.inputs, v.w!), v.b!), batch.targets),
      ),
    dispose: () => params.dispose(),
  };
  const evalHost = hostBatch(100, 50);
  const stepHost = hostBatch(200, 20);
  const evalBatch = toBatch(evalHost);
  const stepBatch = toBatch(stepHost);
  const dataset = {
    info: { task: 'test', inputShape: [D], targetShape: [], meta: { classes: C } },
    batch: (step: number) => toBatch(hostBatch(step, 16)),
    ...(options.evalBatch ? { evalBatch: () => evalBatch } : {}),
    dispose: () => undefined,
  };
  const target = {
    model,
    dataset,
    params,
    step: 0,
    lossOn: (batch: Batch) => (v: ParamValues) => model.loss(v, batch),
    analysisBatch: () => (options.evalBatch ? evalBatch : stepBatch),
  } as unknown as AnalysisTarget;
  return {
    target,
    expected: (b: HostBatch) => reference(b, W, bias),
    evalHost,
    stepHost,
    dispose: () => {
      params.dispose();
      tf.dispose([evalBatch.inputs, evalBatch.targets, stepBatch.inputs, stepBatch.targets]);
    },
  };
}

describe.each(exactnessBackends())('accuracy [%s]', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('measures the evaluation batch and training batches 0..n-1 as a host reference does', () => {
    const c = linearClassifier({ evalBatch: true });
    const before = tf.memory().numTensors;
    const out = accuracy(c.target, accuracyConfig.parse({ trainBatches: 3 }));
    expect(tf.memory().numTensors).toBe(before);
    const test = c.expected(c.evalHost);
    const train = [0, 1, 2].map((s) => c.expected(hostBatch(s, 16)));
    const trainCorrect = train.reduce((s, r) => s + r.correct, 0);
    const trainLoss = train.reduce((s, r) => s + r.loss, 0);
    expect(out.value).toBe(test.correct / 50);
    expect(out.data).toEqual({
      testAccuracy: test.correct / 50,
      testLoss: expect.closeTo(test.loss / 50, 4),
      testExamples: 50,
      testBatch: 'evaluation',
      trainAccuracy: trainCorrect / 48,
      trainLoss: expect.closeTo(trainLoss / 48, 4),
      trainExamples: 48,
    });
    // Not a trivial case: some right, some wrong.
    expect(out.value).toBeGreaterThan(0);
    expect(out.value).toBeLessThan(1);
    c.dispose();
  });

  it('falls back to the analysis batch when the dataset has no evaluation batch', () => {
    const c = linearClassifier({ evalBatch: false });
    const out = accuracy(c.target, accuracyConfig.parse({}));
    expect(out.data.testBatch).toBe('analysis');
    expect(out.data.testExamples).toBe(20);
    expect(out.value).toBe(c.expected(c.stepHost).correct / 20);
    expect(out.data.trainExamples).toBe(4 * 16);
    c.dispose();
  });

  it('says what is wrong when the model does not give logits [batch, classes]', () => {
    const c = linearClassifier({ evalBatch: true, outputs: 'vector' });
    const before = tf.memory().numTensors;
    expect(() => accuracy(c.target, accuracyConfig.parse({}))).toThrow(
      expect.objectContaining({
        code: 'SHAPE_MISMATCH',
        message: expect.stringMatching(/accuracy needs a classifier.*gives \[50\]/),
        hint: expect.stringMatching(/classification model/),
      }),
    );
    expect(tf.memory().numTensors).toBe(before);
    c.dispose();
  });
});

describe('accuracy plugin', () => {
  it('is created from a registry with trainBatches 4 by default, and rejects 0', async () => {
    await useBackend('cpu');
    const registry = createRegistry().register(accuracyPlugin);
    const c = linearClassifier({ evalBatch: true });
    const instance = registry.create<AnalysisInstance>('analysis', { name: 'accuracy' });
    const out = await instance.run(c.target, { step: 0, seed: 0 });
    expect(out.data?.trainExamples).toBe(64);
    expect(registry.check('analysis', { name: 'accuracy', trainBatches: 0 }).problems).toHaveLength(
      1,
    );
    c.dispose();
  });
});

describe('accuracy figures', () => {
  it('draw test and train curves per group, averaged over seeds', () => {
    const file = (values: number[]) => ({
      analysis: 'accuracy',
      label: 'acc',
      config: {},
      records: values.map((v, i) => ({
        step: i * 10,
        value: v,
        testAccuracy: v,
        trainAccuracy: v + 0.1,
        testLoss: 1 - v,
        trainLoss: 0.9 - v,
      })),
    });
    const run = (group: string, seed: number) => ({
      id: `${group}-${seed}`,
      label: `${group}_seed=${seed}`,
      group,
      seed,
      model: group,
      optimizer: 'adam',
      sweep: {},
    });
    const figures = accuracyFigures([
      { run: run('softmax', 0), file: file([0.5, 0.7]) },
      { run: run('softmax', 1), file: file([0.5, 0.9]) },
      { run: run('gaussian', 0), file: file([0.6, 0.95]) },
    ]);
    expect(figures.map((f) => f.id)).toEqual(['acc-accuracy', 'acc-loss']);
    const lines = figures[0]!;
    if (lines.kind !== 'lines') throw new Error('expected lines');
    expect(lines.series.map((s) => s.name)).toEqual([
      'softmax test',
      'softmax train',
      'gaussian test',
      'gaussian train',
    ]);
    expect(lines.series[0]!.points).toEqual([
      { x: 0, y: 0.5 },
      { x: 10, y: 0.8 },
    ]);
    expect(lines.series[0]!.band).toEqual([
      { x: 0, lo: 0.5, hi: 0.5 },
      { x: 10, lo: 0.7, hi: 0.9 },
    ]);
    expect(lines.series[2]!.band).toBeUndefined();
  });
});
