/**
 * tdx's optimizers against PyTorch's: the same quadratic, the same start, 25 steps; the
 * trajectories were recorded by test/fixtures/pytorch_trajectories.py with Debian's PyTorch.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '@tdx/core';
import {
  disposeReplaced,
  ParamSet,
  tf,
  valueAndGrad,
  type GradientTransformation,
  type LossFunction,
  type Scalar,
  useBackend,
  exactnessBackends,
} from '@tdx/tensor';
import { chain, register, scaleByLearningRate, trace } from '../src/index.js';

interface Fixture {
  torch: string;
  A: number[][];
  b: number[];
  start: number[];
  cases: Record<string, { optimizer: Record<string, unknown>; trajectory: number[][] }>;
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/pytorch-trajectories.json', import.meta.url), 'utf8'),
) as Fixture;

function quadratic() {
  const params = ParamSet.create([
    { name: 'w1', role: 'other', init: { values: fixture.start.slice(0, 4), shape: [2, 2] } },
    { name: 'w2', role: 'other', init: { values: fixture.start.slice(4), shape: [3] } },
  ]);
  const A = tf.tensor2d(fixture.A);
  const b = tf.tensor1d(fixture.b);
  const loss: LossFunction = (p) =>
    tf.tidy(() => {
      const w = tf.concat([tf.reshape(p.w1!, [4]), p.w2!]);
      const Aw = tf.squeeze(tf.matMul(A, tf.reshape(w, [7, 1])));
      return tf.sub(tf.mul(0.5, tf.sum(tf.mul(w, Aw))), tf.sum(tf.mul(b, w))) as Scalar;
    });
  return { params, loss, dispose: () => (params.dispose(), A.dispose(), b.dispose()) };
}

/** Runs `steps` updates, returning the parameters after each; checks nothing leaks. */
function train(optimizer: GradientTransformation, steps: number): number[][] {
  const q = quadratic();
  let state = tf.tidy(() => optimizer.init(q.params.values()) as tf.TensorContainer) as unknown;
  const out: number[][] = [];
  let live = 0;
  for (let t = 0; t < steps; t++) {
    const next = tf.tidy(() => {
      const { grads } = valueAndGrad(q.loss, q.params);
      const { updates, state: s } = optimizer.update(grads, state, q.params.values());
      for (const block of q.params.blocks)
        block.variable.assign(tf.add(block.variable, updates[block.name]!));
      return s as tf.TensorContainer;
    });
    disposeReplaced(state, next);
    state = next;
    out.push(Array.from(q.params.flatten()));
    if (t === 1) live = tf.memory().numTensors;
  }
  expect(tf.memory().numTensors).toBe(live);
  q.dispose();
  return out;
}

for (const backend of exactnessBackends()) {
  describe(`optimizers reproduce PyTorch ${fixture.torch} [${backend}]`, () => {
    beforeAll(() => useBackend(backend));
    const registry = register(Registry.create());
    for (const [name, { optimizer, trajectory }] of Object.entries(fixture.cases)) {
      it(`${name}: ${JSON.stringify(optimizer)}`, () => {
        const ours = train(
          registry.create<GradientTransformation>('optimizer', optimizer),
          trajectory.length,
        );
        trajectory.forEach((expected, step) => {
          expected.forEach((value, i) =>
            expect(Math.abs(ours[step]![i]! - value)).toBeLessThan(
              2e-5 * Math.max(1, Math.abs(value)),
            ),
          );
        });
      });
    }
  });
}

it('chains transformations in order and follows a learning-rate schedule', () => {
  // Momentum then a decaying rate, by hand: t1 = g, w -= lr(0) t1; ...
  const schedule = (step: number) => 0.1 / (1 + step);
  const ours = train(chain(trace({ decay: 0.5 }), scaleByLearningRate(schedule)), 3);
  const A = fixture.A;
  const grad = (w: number[]) =>
    A.map((row, i) => row.reduce((s, a, j) => s + a * w[j]!, 0) - fixture.b[i]!);
  let w = [...fixture.start];
  let momentum = w.map(() => 0);
  for (let step = 0; step < 3; step++) {
    const g = grad(w);
    momentum = momentum.map((m, i) => 0.5 * m + g[i]!);
    w = w.map((x, i) => x - schedule(step) * momentum[i]!);
    w.forEach((x, i) => expect(ours[step]![i]).toBeCloseTo(x, 5));
  }
});

it('rejects bad optimizer configs with the path, value and rule', () => {
  const registry = register(Registry.create());
  expect(registry.check('optimizer', { name: 'sgd', lr: -0.1 }, 'optimizers[0]').problems).toEqual([
    { path: 'optimizers[0].lr', message: 'must be > 0', value: -0.1 },
  ]);
  expect(
    registry.check('optimizer', { name: 'sgd', lr: 0.1, nesterov: true }, 'optimizers[0]').problems,
  ).toEqual([
    { path: 'optimizers[0].nesterov', message: 'nesterov needs momentum > 0', value: true },
  ]);
  expect(
    registry.check('optimizer', { name: 'adam', lr: 1e-3, b2: 1 }, 'optimizers[1]').problems,
  ).toEqual([{ path: 'optimizers[1].b2', message: 'must be < 1', value: 1 }]);
});

describe('chain: metrics and hyperparameters', () => {
  const reporting = (
    metrics: Record<string, number>,
    hyperparameters: Record<string, number> = {},
  ): GradientTransformation<null> => ({
    init: () => null,
    update: (grads, state) => ({ updates: grads, state }),
    metrics: () => metrics,
    hyperparameters: () => hyperparameters,
  });

  it('are the union of the transformations', () => {
    const c = chain(reporting({ a: 1 }, { weightDecay: 0.1 }), reporting({ b: 2 }));
    expect(c.metrics!(c.init({}))).toEqual({ a: 1, b: 2 });
    expect(c.hyperparameters!()).toEqual({ weightDecay: 0.1 });
  });

  it('refuse a name reported twice, naming both transformations', () => {
    const c = chain(reporting({ tau: 1 }), reporting({}), reporting({ tau: 2 }));
    expect(() => c.metrics!(c.init({}))).toThrow(
      'chain: transformations 0 and 2 both report the metric "tau"',
    );
    const h = chain(reporting({}, { weightDecay: 0 }), reporting({}, { weightDecay: 0 }));
    expect(() => h.hyperparameters!()).toThrow('both report the hyperparameter "weightDecay"');
  });

  it('sgd and adam report weightDecay as a hyperparameter, never among the logged metrics', () => {
    const registry = register(Registry.create());
    for (const name of ['sgd', 'adam']) {
      const opt = registry.create<GradientTransformation<unknown>>('optimizer', {
        name,
        lr: 0.1,
        weightDecay: 0.01,
      });
      expect(opt.hyperparameters!()).toEqual({ weightDecay: 0.01 });
      expect(Object.keys(opt.metrics!(opt.init({})))).not.toContain('weightDecay');
    }
  });
});
