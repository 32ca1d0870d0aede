/**
 * Optimizers with a learning-rate schedule, trained: on a quadratic, plain SGD's update at step t
 * is −lr_t·g_t and AdamW's follows the hand-written recursion with lr_t; a run restored from a
 * checkpoint on disk continues its schedule, because the step count is part of the state.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, Registry, writeCheckpoint } from '@tdx/core';
import {
  disposeReplaced,
  meanSquaredError,
  ParamSet,
  Rng,
  startMinibatchSession,
  tf,
  useBackend,
  valueAndGrad,
  type Batch,
  type Dataset,
  type GradientTransformation,
  type LossFunction,
  type ModelBuilder,
  type Scalar,
  exactnessBackends,
} from '@tdx/tensor';
import { asSchedule, learningRate, register, scheduleConfig } from '../src/index.js';

const { A, b, start } = JSON.parse(
  readFileSync(new URL('./fixtures/pytorch-trajectories.json', import.meta.url), 'utf8'),
) as { A: number[][]; b: number[]; start: number[] };

/** ∇(½ wᵀAw − bᵀw) = Aw − b, in float64. */
const gradient = (w: number[]): number[] =>
  A.map((row, i) => row.reduce((s, a, j) => s + a * w[j]!, 0) - b[i]!);

/** Runs `steps` updates of the quadratic; returns the parameters before each update and at the end. */
function train(optimizer: GradientTransformation, steps: number): number[][] {
  const params = ParamSet.create([
    { name: 'w1', role: 'other', init: { values: start.slice(0, 4), shape: [2, 2] } },
    { name: 'w2', role: 'other', init: { values: start.slice(4), shape: [3] } },
  ]);
  const At = tf.tensor2d(A);
  const bt = tf.tensor1d(b);
  const loss: LossFunction = (p) =>
    tf.tidy(() => {
      const w = tf.concat([tf.reshape(p.w1!, [4]), p.w2!]);
      const Aw = tf.squeeze(tf.matMul(At, tf.reshape(w, [7, 1])));
      return tf.sub(tf.mul(0.5, tf.sum(tf.mul(w, Aw))), tf.sum(tf.mul(bt, w))) as Scalar;
    });
  let state = tf.tidy(() => optimizer.init(params.values()) as tf.TensorContainer) as unknown;
  const out = [Array.from(params.flatten())];
  let live = 0;
  for (let t = 0; t < steps; t++) {
    const next = tf.tidy(() => {
      const { grads } = valueAndGrad(loss, params);
      const { updates, state: s } = optimizer.update(grads, state, params.values());
      for (const block of params.blocks)
        block.variable.assign(tf.add(block.variable, updates[block.name]!));
      return s as tf.TensorContainer;
    });
    disposeReplaced(state, next);
    state = next;
    out.push(Array.from(params.flatten()));
    if (t === 1) live = tf.memory().numTensors;
  }
  expect(tf.memory().numTensors).toBe(live);
  tf.dispose(state as tf.TensorContainer);
  params.dispose();
  tf.dispose([At, bt]);
  return out;
}

/** y = <(1, -2, 0.5), x> + 0.3, x ~ N(0, I): a fresh batch per step. */
const regression = (): Dataset => ({
  info: { task: 'test-regression', inputShape: [3], targetShape: [1], meta: {} },
  batch: (step) => {
    const x = new Rng(7).fork('train', step).normalArray(16 * 3);
    const y = Float32Array.from(
      { length: 16 },
      (_, i) => x[3 * i]! - 2 * x[3 * i + 1]! + 0.5 * x[3 * i + 2]! + 0.3,
    );
    return { inputs: tf.tensor2d(Float32Array.from(x), [16, 3]), targets: tf.tensor2d(y, [16, 1]) };
  },
  dispose: () => {},
});

const linearModel: ModelBuilder = {
  build: () => {
    const params = ParamSet.create([
      { name: 'w', role: 'head', init: { values: [0.1, 0.2, -0.3], shape: [3, 1] } },
      { name: 'b', role: 'bias', init: { values: [0], shape: [1] } },
    ]);
    const predict = (v: Record<string, tf.Tensor>, x: tf.Tensor) =>
      tf.add(tf.matMul(x, v.w!), v.b!);
    return {
      params,
      predict,
      loss: (v, batch: Batch) => meanSquaredError(predict(v, batch.inputs), batch.targets),
      dispose: () => params.dispose(),
    };
  },
};

for (const backend of exactnessBackends()) {
  describe(`optimizers with a schedule [${backend}]`, () => {
    beforeAll(() => useBackend(backend));
    const registry = register(Registry.create());
    const create = (ref: Record<string, unknown>) =>
      registry.create<GradientTransformation>('optimizer', ref);

    it('plain SGD steps by −lr_t·g_t through warmup, cosine decay and floor', () => {
      // lr 0.1, warmup 5 (0.02, 0.04, ..., 0.1 at t = 4), cosine to 0.01 over t = 5..25.
      const lrAt = (t: number) =>
        t < 5
          ? (0.1 * (t + 1)) / 5
          : 0.1 * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, (t - 5) / 20))));
      const steps = 30;
      const ws = train(
        create({
          name: 'sgd',
          lr: 0.1,
          schedule: { name: 'cosine', warmupSteps: 5, decaySteps: 25, minFactor: 0.1 },
        }),
        steps,
      );
      for (let t = 0; t < steps; t++) {
        const g = gradient(ws[t]!);
        ws[t + 1]!.forEach((w, i) => {
          const update = w - ws[t]![i]!;
          expect(Math.abs(update - -lrAt(t) * g[i]!), `step ${t}, coordinate ${i}`).toBeLessThan(
            1e-6,
          );
        });
      }
    });

    it('AdamW follows the hand-written recursion with lr_t (decay scaled by lr_t too)', () => {
      // step decay: lr 0.05 · 0.5^⌊t/10⌋; b2 0.95, decoupled weight decay 0.1.
      const lrAt = (t: number) => 0.05 * 0.5 ** Math.floor(t / 10);
      const [b1, b2, eps, wd] = [0.9, 0.95, 1e-8, 0.1];
      const steps = 30;
      const ours = train(
        create({
          name: 'adam',
          lr: 0.05,
          b2,
          weightDecay: wd,
          schedule: { name: 'step', every: 10, gamma: 0.5 },
        }),
        steps,
      );
      let w = [...start];
      let m = w.map(() => 0);
      let v = w.map(() => 0);
      for (let t = 0; t < steps; t++) {
        const g = gradient(w);
        m = m.map((x, i) => b1 * x + (1 - b1) * g[i]!);
        v = v.map((x, i) => b2 * x + (1 - b2) * g[i]! ** 2);
        const [c1, c2] = [1 - b1 ** (t + 1), 1 - b2 ** (t + 1)];
        w = w.map((x, i) => x - lrAt(t) * (m[i]! / c1 / (Math.sqrt(v[i]! / c2) + eps) + wd * x));
        w.forEach((x, i) =>
          expect(Math.abs(ours[t + 1]![i]! - x), `step ${t}`).toBeLessThan(
            2e-5 * Math.max(1, Math.abs(x)),
          ),
        );
      }
    });

    it('schedule { name: constant } gives the same numbers as no schedule', () => {
      for (const ref of [
        { name: 'sgd', lr: 0.05, momentum: 0.9 },
        { name: 'adam', lr: 0.02, weightDecay: 0.01, clipNorm: 1 },
      ])
        expect(train(create({ ...ref, schedule: { name: 'constant' } }), 10)).toEqual(
          train(create(ref), 10),
        );
    });

    describe('a run restored from its checkpoint continues the schedule', () => {
      const dir = mkdtempSync(join(tmpdir(), 'tdx-optimizers-'));
      afterAll(() => rmSync(dir, { recursive: true, force: true }));
      const configs = [
        {
          name: 'sgd',
          lr: 0.05,
          momentum: 0.9,
          schedule: { name: 'cosine', warmupSteps: 4, decaySteps: 16, minFactor: 0.1 },
        },
        { name: 'sgd', lr: 0.1, schedule: { name: 'linear', warmupSteps: 3, decaySteps: 18 } },
        { name: 'adam', lr: 0.05, weightDecay: 0.01, schedule: { name: 'step', every: 3 } },
        { name: 'adam', lr: 0.05, schedule: { name: 'inverse-sqrt', warmupSteps: 6 } },
      ];
      for (const config of configs) {
        it(`${config.name} + ${config.schedule.name}: 20 steps = 10 + restore + 10`, () => {
          const [steps, half] = [20, 10];
          const parts = () => ({
            dataset: regression(),
            model: linearModel,
            optimizer: create(config),
            seed: 0,
          });
          const straight = startMinibatchSession(parts());
          const losses: number[] = [];
          for (let t = 0; t < steps; t++) {
            if (t === half)
              writeCheckpoint(dir, { ...straight.checkpoint!(), step: t, runId: 'r' });
            losses.push(straight.step(t));
          }
          const saved = readCheckpoint(dir, 'r')!;
          // The chain's last state is scaleByLearningRate's: the number of updates made, and
          // the training time tau, the sum of the rates used.
          const chainState = (saved.state as { optimizer: unknown[] }).optimizer;
          const schedule = asSchedule(
            learningRate(config.lr, scheduleConfig.parse(config.schedule)),
          );
          const tau = Array.from({ length: half }, (_, s) => schedule(s)).reduce((a, b) => a + b);
          expect(chainState.at(-1)).toEqual({ count: half, time: expect.closeTo(tau, 12) });

          const resume = (checkpoint: typeof saved) => {
            const session = startMinibatchSession(parts());
            session.restore!(checkpoint, half);
            const rest: number[] = [];
            for (let t = half; t < steps; t++) rest.push(session.step(t));
            const params = Array.from(session.target().params.flatten());
            session.dispose();
            return { rest, params };
          };
          const resumed = resume(saved);
          expect(resumed.rest).toEqual(losses.slice(half));
          expect(resumed.params).toEqual(Array.from(straight.target().params.flatten()));

          // Control: the same checkpoint with the schedule's count reset starts the schedule
          // over, and ends elsewhere; so the count above is what carries the schedule.
          const restarted = resume({
            ...saved,
            state: {
              ...(saved.state as object),
              optimizer: [...chainState.slice(0, -1), { count: 0 }],
            },
          });
          expect(restarted.params).not.toEqual(resumed.params);
          straight.dispose();
        });
      }
    });
  });
}
