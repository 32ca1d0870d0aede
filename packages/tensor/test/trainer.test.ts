import { expect, it } from 'vitest';
import type { TdxError } from '@tdx/core';
import {
  hvpFlat,
  meanSquaredError,
  ParamSet,
  Rng,
  startMinibatchSession,
  tf,
  valueAndGrad,
  type Batch,
  type Dataset,
  type GradientTransformation,
  type ModelBuilder,
} from '../src/index.js';
import { describeEachBackend } from './support/backends.js';

/** y = <(1, -2, 0.5), x> + 0.3, x ~ N(0, I): a fresh batch per step, a fixed eval batch. */
function linearData(seed = 1): Dataset {
  const make = (rng: Rng, n: number): Batch => {
    const x = rng.normalArray(n * 3);
    const y = Float64Array.from(
      { length: n },
      (_, i) => x[3 * i]! - 2 * x[3 * i + 1]! + 0.5 * x[3 * i + 2]! + 0.3,
    );
    return {
      inputs: tf.tensor2d(Float32Array.from(x), [n, 3]),
      targets: tf.tensor2d(Float32Array.from(y), [n, 1]),
    };
  };
  let evalBatch: Batch | undefined;
  return {
    info: { task: 'test-regression', inputShape: [3], targetShape: [1], meta: {} },
    batch: (step) => make(new Rng(seed).fork('train', step), 16),
    evalBatch: () =>
      (evalBatch ??= tf.tidy(
        () => make(new Rng(seed).fork('eval'), 64) as unknown as tf.TensorContainer,
      ) as unknown as Batch),
    dispose: () => {
      if (evalBatch) tf.dispose([evalBatch.inputs, evalBatch.targets]);
    },
  };
}

const linearModel: ModelBuilder = {
  build: (info) => {
    const params = ParamSet.create([
      {
        name: 'w',
        role: 'head',
        init: { values: new Float32Array(info.inputShape[0]!), shape: [info.inputShape[0]!, 1] },
      },
      { name: 'b', role: 'bias', init: { values: [0], shape: [1] } },
    ]);
    const predict = (v: Record<string, tf.Tensor>, x: tf.Tensor) =>
      tf.add(tf.matMul(x, v.w!), v.b!);
    return {
      params,
      predict,
      loss: (v, batch) => meanSquaredError(predict(v, batch.inputs), batch.targets),
      dispose: () => params.dispose(),
    };
  },
};

const sgd = (lr: number): GradientTransformation<Record<string, never>> => ({
  init: () => ({}),
  update: (grads, state) => ({
    updates: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(-lr, g)])),
    state,
  }),
});

describeEachBackend('the minibatch trainer', () => {
  it('trains, and holds the same number of tensors after 10 and after 500 steps', () => {
    const before = tf.memory().numTensors;
    const session = startMinibatchSession({
      dataset: linearData(),
      model: linearModel,
      optimizer: sgd(0.05),
      seed: 0,
    });
    const first = session.evalLoss()!;
    for (let t = 0; t < 10; t++) session.step(t);
    const after10 = tf.memory().numTensors;
    for (let t = 10; t < 500; t++) session.step(t);
    expect(tf.memory().numTensors).toBe(after10);
    expect(session.evalLoss()!).toBeLessThan(1e-4 * first);
    const target = session.target();
    expect(
      Array.from(target.params.block('w').variable.dataSync()).map((x) => +x.toFixed(3)),
    ).toEqual([1, -2, 0.5]);
    session.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('resumes from a checkpoint bit for bit: parameters, optimizer state, step', () => {
    const momentum: GradientTransformation<{ velocity: Record<string, tf.Tensor>; count: number }> =
      {
        init: (params) => ({
          velocity: Object.fromEntries(
            Object.entries(params).map(([k, p]) => [k, tf.zerosLike(p)]),
          ),
          count: 0,
        }),
        update: (grads, state) => {
          const velocity = Object.fromEntries(
            Object.entries(grads).map(([k, g]) => [k, tf.add(tf.mul(state.velocity[k]!, 0.9), g)]),
          );
          const scale = -0.05 / (1 + 0.01 * state.count);
          return {
            updates: Object.fromEntries(
              Object.entries(velocity).map(([k, v]) => [k, tf.mul(v, scale)]),
            ),
            state: { velocity, count: state.count + 1 },
          };
        },
      };
    const parts = () => ({
      dataset: linearData(),
      model: linearModel,
      optimizer: momentum,
      seed: 0,
    });
    const straight = startMinibatchSession(parts());
    const losses: number[] = [];
    let saved: ReturnType<NonNullable<typeof straight.checkpoint>> | undefined;
    for (let t = 0; t < 30; t++) {
      if (t === 12) saved = straight.checkpoint!();
      losses.push(straight.step(t));
    }
    const resumed = startMinibatchSession(parts());
    resumed.restore!(saved!, 12);

    const resumedLosses: number[] = [];
    for (let t = 12; t < 30; t++) resumedLosses.push(resumed.step(t));
    expect(resumedLosses).toEqual(losses.slice(12));
    expect(Array.from(resumed.target().params.flatten())).toEqual(
      Array.from(straight.target().params.flatten()),
    );
    expect(resumed.target().step).toBe(30);
    expect(Object.keys(saved!.arrays).sort()).toEqual([
      'optimizer:0',
      'optimizer:1',
      'param:b',
      'param:w',
    ]);
    expect(saved!.state).toEqual({
      optimizer: {
        velocity: { w: { $array: 'optimizer:0' }, b: { $array: 'optimizer:1' } },
        count: 12,
      },
      dataset: null,
    });
    straight.dispose();
    resumed.dispose();
  });

  it('tells analyses the last update applied: w_t − w_{t−1}, none at the start or after a resume', () => {
    const session = startMinibatchSession({
      dataset: linearData(),
      model: linearModel,
      optimizer: sgd(0.05),
      seed: 0,
    });
    expect(session.target().lastUpdate!()).toBeUndefined();
    const before = tf.memory().numTensors;
    for (let t = 0; t < 3; t++) {
      const previous = session.target().params.flatten();
      session.step(t);
      const now = session.target().params.flatten();
      const update = session.target().lastUpdate!()!;
      expect(update).toHaveLength(4);
      // Exactly the float32 difference the parameters moved by (and not zero).
      expect(Array.from(update)).toEqual(Array.from(now, (x, i) => Math.fround(x - previous[i]!)));
      expect(update.some((u) => u !== 0)).toBe(true);
    }
    // One update is held (replaced at every step), nothing more.
    expect(tf.memory().numTensors).toBe(before + 2);
    session.restore!(session.checkpoint!(), 3);
    expect(session.target().lastUpdate!()).toBeUndefined();
    session.dispose();
  });

  it('leaves frozen blocks untouched', () => {
    const frozenBias: ModelBuilder = {
      build: (info) => {
        const model = linearModel.build(info);
        model.params.freeze({ role: 'bias' });
        return model;
      },
    };
    const session = startMinibatchSession({
      dataset: linearData(),
      model: frozenBias,
      optimizer: sgd(0.05),
      seed: 0,
    });
    for (let t = 0; t < 50; t++) session.step(t);
    const { params } = session.target();
    expect(params.block('b').variable.dataSync()[0]).toBe(0);
    expect(params.block('w').variable.dataSync()[0]).not.toBe(0);
    session.dispose();
  });

  it('trains only the blocks `trainable` selects; the optimizer sees only them', () => {
    const seen: string[][] = [];
    const recording: GradientTransformation<Record<string, never>> = {
      init: (params) => (seen.push(Object.keys(params)), {}),
      update: (grads, state, params) => (
        seen.push(Object.keys(params)),
        sgd(0.05).update(grads, state, params)
      ),
    };
    const session = startMinibatchSession(
      { dataset: linearData(), model: linearModel, optimizer: recording, seed: 0 },
      { leakCheck: 'error', trainable: ['bias'] },
    );
    for (let t = 0; t < 20; t++) session.step(t);
    const { params } = session.target();
    expect(params.trainable().names).toEqual(['b']);
    expect(params.block('w').variable.dataSync()).toEqual(new Float32Array(3));
    expect(params.block('b').variable.dataSync()[0]).not.toBe(0);
    expect(new Set(seen.map((s) => s.join()))).toEqual(new Set(['b']));
    session.dispose();
    const typo = (() => {
      try {
        startMinibatchSession(
          { dataset: linearData(), model: linearModel, optimizer: sgd(0.1), seed: 0 },
          { leakCheck: 'error', trainable: [{ name: 'layers.*' }] },
        );
      } catch (e) {
        return e as TdxError;
      }
    })();
    expect(typo?.message).toContain('no parameter block matches');
    expect(typo?.hint).toContain('w (head)');
  });

  it('multiplies a block gradient by its lrScale, hands optimizers the gradient at trial points, and reports optimizer metrics', () => {
    const scaled: ModelBuilder = {
      build: (info) => {
        const model = linearModel.build(info);
        const params = ParamSet.create([
          { name: 'w', role: 'head', lrScale: 4, init: { values: [0, 0, 0], shape: [3, 1] } },
          { name: 'b', role: 'bias', init: { values: [0], shape: [1] } },
        ]);
        model.params.dispose();
        return { ...model, params, dispose: () => params.dispose() };
      },
    };
    const seen: Record<string, number[]>[] = [];
    const probe: GradientTransformation<{ steps: number }> = {
      init: () => ({ steps: 0 }),
      update: (grads, state, params, context) => {
        const shifted = { w: tf.add(params.w!, 1), b: params.b! };
        seen.push({
          w: Array.from(grads.w!.dataSync()),
          b: Array.from(grads.b!.dataSync()),
          trialW: Array.from(context!.gradient(shifted).w!.dataSync()),
        });
        return { ...sgd(0.01).update(grads, {}, params), state: { steps: state.steps + 1 } };
      },
      metrics: (state) => ({ tau: 0.01 * state.steps }),
    };
    const session = startMinibatchSession({
      dataset: linearData(),
      model: scaled,
      optimizer: probe,
      seed: 0,
    });
    expect(session.metrics()).toEqual({ tau: 0 });
    const plain = startMinibatchSession({
      dataset: linearData(),
      model: linearModel,
      optimizer: sgd(0.01),
      seed: 0,
    });
    const target = plain.target();
    const batch = linearData().batch(0);
    const [gw, gb, trial] = tf.tidy(() => {
      const loss = target.lossOn(batch);
      const at = valueAndGrad(loss, target.params).grads;
      const shifted = valueAndGrad(loss, target.params, {
        at: { w: tf.add(target.params.block('w').variable, 1) },
      }).grads;
      return [at.w!.dataSync(), at.b!.dataSync(), shifted.w!.dataSync()];
    });
    session.step(0);
    expect(session.metrics()).toEqual({ tau: 0.01 });
    seen[0]!.w!.forEach((g, i) => expect(g).toBeCloseTo(4 * gw[i]!, 5));
    expect(seen[0]!.b![0]).toBeCloseTo(gb[0]!, 5);
    seen[0]!.trialW!.forEach((g, i) => expect(g).toBeCloseTo(4 * trial[i]!, 5));
    expect(trial[0]).not.toBeCloseTo(gw[0]!, 3);
    session.dispose();
    plain.dispose();
    tf.dispose([batch.inputs, batch.targets]);
  });

  it('hands analyses a target they can differentiate', () => {
    const session = startMinibatchSession({
      dataset: linearData(),
      model: linearModel,
      optimizer: sgd(0.05),
      seed: 0,
    });
    const target = session.target();
    const batch = target.analysisBatch();
    const loss = target.lossOn(batch);
    // For least squares the Hessian is 2 E[(x,1)(x,1)^T]: near 2I for standard normal x.
    const hv = hvpFlat(loss, target.params, [1, 0, 0, 0]);
    expect(hv[0]).toBeGreaterThan(1.3);
    expect(hv[0]).toBeLessThan(2.7);
    session.dispose();
  });

  it('stops a run whose steps keep leaking tensors, naming the cause', () => {
    const leaky: GradientTransformation = {
      init: () => ({}),
      update: (grads, state) => {
        tf.keep(tf.zeros([1]));
        return {
          updates: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(-0.01, g)])),
          state,
        };
      },
    };
    const session = startMinibatchSession({
      dataset: linearData(),
      model: linearModel,
      optimizer: leaky,
      seed: 0,
    });
    expect(() => {
      for (let t = 0; t < 10; t++) session.step(t);
    }).toThrow(/each training step leaves tensors behind/);
    session.dispose();
  });

  it('refuses to start when every block is frozen, or when a plugin breaks the contract', () => {
    const allFrozen: ModelBuilder = {
      build: (info) => {
        const m = linearModel.build(info);
        m.params.freeze();
        return m;
      },
    };
    expect(() =>
      startMinibatchSession({
        dataset: linearData(),
        model: allFrozen,
        optimizer: sgd(0.1),
        seed: 0,
      }),
    ).toThrow(/every parameter block is frozen/);
    const error = (() => {
      try {
        startMinibatchSession({
          dataset: { info: {} },
          model: linearModel,
          optimizer: sgd(0.1),
          seed: 0,
        });
      } catch (e) {
        return e as TdxError;
      }
    })();
    expect(error?.code).toBe('PLUGIN_CONTRACT');
    expect(error?.message).toContain('batch(step)');
  });
});
