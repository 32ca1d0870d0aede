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
    registry.check('optimizer', { name: 'adam', lr: 1e-3, b2: 1.5 }, 'optimizers[1]').problems,
  ).toEqual([{ path: 'optimizers[1].b2', message: 'must be <= 1', value: 1.5 }]);
});

describe('Adam with b2 = 1', () => {
  // One coordinate of the fixture's quadratic is enough to follow by hand: the rule is
  // elementwise. Gradients of ½ a w² − b w at w: a w − b.
  const a = 2;
  const b = 1;
  const lr = 0.1;
  const eps = 1e-8;
  function ours(config: Record<string, unknown>, steps: number): number[] {
    const registry = register(Registry.create());
    const optimizer = registry.create<GradientTransformation>('optimizer', {
      name: 'adam',
      lr,
      eps,
      ...config,
    });
    const params = ParamSet.create([
      { name: 'w', role: 'other', init: { values: [3], shape: [1] } },
    ]);
    const loss: LossFunction = (p) =>
      tf.tidy(
        () => tf.sub(tf.mul(0.5 * a, tf.sum(tf.square(p.w!))), tf.mul(b, tf.sum(p.w!))) as Scalar,
      );
    let state = tf.tidy(() => optimizer.init(params.values()) as tf.TensorContainer) as unknown;
    const path: number[] = [];
    for (let t = 0; t < steps; t++) {
      const next = tf.tidy(() => {
        const { grads } = valueAndGrad(loss, params);
        const { updates, state: s } = optimizer.update(grads, state, params.values());
        params.blocks[0]!.variable.assign(tf.add(params.blocks[0]!.variable, updates.w!));
        return s as tf.TensorContainer;
      });
      disposeReplaced(state, next);
      state = next;
      path.push(params.flatten()[0]!);
    }
    disposeReplaced(state, {});
    params.dispose();
    return path;
  }

  beforeAll(() => useBackend('cpu'));

  it('is accepted, and uses the running mean of g² (the limit of the bias-corrected v̂)', () => {
    const registry = register(Registry.create());
    expect(registry.check('optimizer', { name: 'adam', lr, b2: 1 }, 'o').problems).toEqual([]);
    const b1 = 0.9;
    const path = ours({ b1, b2: 1 }, 4);
    // By hand: m_t = b1 m + (1 − b1) g, m̂ = m / (1 − b1^t), v̂_t = (g_1² + … + g_t²) / t.
    let w = 3;
    let m = 0;
    const squares: number[] = [];
    for (let t = 1; t <= 4; t++) {
      const g = a * w - b;
      m = b1 * m + (1 - b1) * g;
      squares.push(g * g);
      const v = squares.reduce((s, x) => s + x, 0) / t;
      w -= (lr * (m / (1 - b1 ** t))) / (Math.sqrt(v) + eps);
      expect(path[t - 1]).toBeCloseTo(w, 5);
    }
  });

  it('is the limit b2 -> 1 of PyTorch’s bias-corrected Adam', () => {
    const limit = ours({ b2: 1 }, 5);
    const near = ours({ b2: 1 - 1e-7 }, 5);
    limit.forEach((w, i) => expect(w).toBeCloseTo(near[i]!, 5));
  });

  it('with secondMomentInit: gradient keeps v at the first g² (Zhang et al.’s theorem: a fixed preconditioner)', () => {
    const path = ours({ b1: 0, b2: 1, secondMomentInit: 'gradient' }, 4);
    // β1 = 0, v ≡ g_1²: w_{t+1} = w_t − lr g_t / |g_1|, a fixed diagonal step.
    let w = 3;
    const g1 = Math.abs(a * w - b);
    for (let t = 0; t < 4; t++) {
      w -= (lr * (a * w - b)) / (g1 + eps);
      expect(path[t]).toBeCloseTo(w, 5);
    }
  });
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
