/**
 * The minibatch trainer's first stage (firstSteps) against gradient descent run here in float64
 * on the same batches: a first stage trains every block of one model, the run starts from its
 * parameters and trains one block of another model (a different output scale stands in for
 * another attention kernel).
 */
import { expect, it } from 'vitest';
import type { TdxError } from '@tdx/core';
import {
  meanSquaredError,
  ParamSet,
  Rng,
  tf,
  minibatchTrainer,
  type Dataset,
  type GradientTransformation,
  type MinibatchSession,
  type ModelBuilder,
} from '../src/index.js';
import { describeEachBackend } from './support/backends.js';

const D = 3;
const N = 16;

/** y = <(1, −2, 0.5), x> + 0.3 + noise, a fresh batch per step. */
function data(): Dataset {
  return {
    info: { task: 'test-regression', inputShape: [D], targetShape: [1], meta: {} },
    batch: (step) => {
      const rng = new Rng(5).fork('train', step);
      const x = rng.normalArray(N * D);
      const e = rng.normalArray(N);
      const y = Float64Array.from(
        { length: N },
        (_, i) => x[D * i]! - 2 * x[D * i + 1]! + 0.5 * x[D * i + 2]! + 0.3 + 0.1 * e[i]!,
      );
      return {
        inputs: tf.tensor2d(Float32Array.from(x), [N, D]),
        targets: tf.tensor2d(Float32Array.from(y), [N, 1]),
      };
    },
    dispose: () => {},
  };
}

/** f(x) = c·<w, x> + b, loss mean (f − y)²; b of shape [1] or another that broadcasts. */
const scaled = (c: number, biasShape = [1]): ModelBuilder => ({
  build: () => {
    const params = ParamSet.create([
      { name: 'w', role: 'query', init: { values: new Float32Array(D), shape: [D, 1] } },
      { name: 'b', role: 'bias', init: { values: [0], shape: biasShape } },
    ]);
    const predict = (v: Record<string, tf.Tensor>, x: tf.Tensor) =>
      tf.add(tf.mul(c, tf.matMul(x, v.w!)), v.b!);
    return {
      params,
      predict,
      loss: (v, batch) => meanSquaredError(predict(v, batch.inputs), batch.targets),
      dispose: () => params.dispose(),
    };
  },
});

const sgd = (lr: number): GradientTransformation<Record<string, never>> => ({
  init: () => ({}),
  update: (grads, state) => ({
    updates: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(-lr, g)])),
    state,
  }),
});

/** GD on c·<w, x> + b in float64 on the host, over the dataset's batches 0 … steps − 1. */
function hostGd(
  w: Float64Array,
  b: number,
  options: { c: number; lr: number; steps: number; trainBias: boolean; trainWeights?: boolean },
): { w: Float64Array; b: number } {
  const ds = data();
  for (let t = 0; t < options.steps; t++) {
    const batch = ds.batch(t);
    const x = batch.inputs.dataSync();
    const y = batch.targets.dataSync();
    tf.dispose([batch.inputs, batch.targets]);
    const gw = new Float64Array(D);
    let gb = 0;
    for (let i = 0; i < N; i++) {
      let f = b;
      for (let k = 0; k < D; k++) f += options.c * w[k]! * x[D * i + k]!;
      const r = (2 / N) * (f - y[i]!);
      for (let k = 0; k < D; k++) gw[k]! += r * options.c * x[D * i + k]!;
      gb += r;
    }
    if (options.trainWeights ?? true) for (let k = 0; k < D; k++) w[k]! -= options.lr * gw[k]!;
    if (options.trainBias) b -= options.lr * gb;
  }
  return { w, b };
}

type Config = Parameters<typeof minibatchTrainer.create>[0];
interface Options {
  firstSteps?: number;
  trainable?: string[];
  firstTrainable?: string[];
  /** Plugin instances, as the registry hands nested references to `create`. */
  firstModel?: ModelBuilder;
  firstOptimizer?: GradientTransformation;
}
/** The trainer with the options parsed by its schema (instances passed as they are). */
const start = (options: Options, model: ModelBuilder = scaled(1)) => {
  const { firstModel, firstOptimizer, ...plain } = options;
  // The schema types nested instances loosely (NestedRef): these are the real ones.
  const config = {
    ...minibatchTrainer.config.parse({ firstSteps: 30, ...plain }),
    ...(firstModel ? { firstModel } : {}),
    ...(firstOptimizer ? { firstOptimizer } : {}),
  } as Config;
  return minibatchTrainer
    .create(config, { registry: undefined as never, seed: 0, path: 'trainer' })
    .start({
      dataset: data(),
      model,
      optimizer: sgd(0.05),
      seed: 0,
      steps: 20,
    }) as MinibatchSession;
};

describeEachBackend("the minibatch trainer's first stage", () => {
  it('trains the first model, then the run model from its parameters, only the chosen blocks', () => {
    const before = tf.memory().numTensors;
    const session = start({ firstModel: scaled(2), trainable: ['query'] });
    // Step 0 is where the first stage ended: all of its blocks moved.
    const first = hostGd(new Float64Array(D), 0, { c: 2, lr: 0.05, steps: 30, trainBias: true });
    const at0 = session.target().params;
    expect(at0.trainable().names).toEqual(['w']);
    Array.from(at0.block('w').variable.dataSync()).forEach((x, k) =>
      expect(x).toBeCloseTo(first.w[k]!, 4),
    );
    expect(at0.block('b').variable.dataSync()[0]).toBeCloseTo(first.b, 4);
    for (let t = 0; t < 20; t++) session.step(t);
    const second = hostGd(Float64Array.from(first.w), first.b, {
      c: 1,
      lr: 0.05,
      steps: 20,
      trainBias: false,
    });
    const { params } = session.target();
    Array.from(params.block('w').variable.dataSync()).forEach((x, k) =>
      expect(x).toBeCloseTo(second.w[k]!, 4),
    );
    // Frozen in the second stage: still the first stage's bias, not the initial 0.
    expect(params.block('b').variable.dataSync()[0]).toBe(at0.block('b').variable.dataSync()[0]);
    expect(Math.abs(first.b)).toBeGreaterThan(0.05);
    session.dispose();
    // The first stage's model and state are gone with it.
    expect(tf.memory().numTensors).toBe(before);
  });

  it("without firstModel, trains the run's own model first (with firstOptimizer and firstTrainable)", () => {
    const session = start({ firstOptimizer: sgd(0.1), firstTrainable: ['bias'] });
    const first = hostGd(new Float64Array(D), 0, {
      c: 1,
      lr: 0.1,
      steps: 30,
      trainBias: true,
      trainWeights: false,
    });
    const { params } = session.target();
    // Only the bias trained in the first stage, at its own rate: w is still 0.
    expect(params.block('w').variable.dataSync()).toEqual(new Float32Array(D));
    expect(params.block('b').variable.dataSync()[0]).toBeCloseTo(first.b, 5);
    // The second stage trains every block by default.
    expect(params.trainable().names).toEqual(['w', 'b']);
    session.dispose();
  });

  it('refuses a first model of another architecture, and a first stage that diverges', () => {
    const caught = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as TdxError;
      }
      throw new Error('expected an error');
    };
    const before = tf.memory().numTensors;
    // A [1, 1] bias trains as well as a [1] one, but is not the run's block.
    const other = caught(() => start({ firstModel: scaled(1, [1, 1]) }));
    expect(other.code).toBe('SHAPE_MISMATCH');
    expect(other.message).toContain('block "b" is [1,1] after the first training stage, [1]');
    const diverging = caught(() => start({ firstOptimizer: sgd(1e6), firstSteps: 50 }));
    expect(diverging.message).toMatch(/first training stage's loss is (NaN|Infinity)/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

it('validates the first-stage options: they need firstSteps', () => {
  const parsed = minibatchTrainer.config.safeParse({ firstTrainable: ['value'] });
  expect(parsed.success).toBe(false);
  expect(parsed.error!.issues[0]!.message).toContain('give firstSteps');
  expect(minibatchTrainer.config.safeParse({ firstSteps: 0 }).success).toBe(false);
  expect(minibatchTrainer.config.parse({ firstSteps: 5 }).firstSteps).toBe(5);
});
