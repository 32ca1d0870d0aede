/**
 * Learning-rate schedules against closed forms worked out by hand (t = 0 is the first update; a
 * warmup of W updates uses lr·(t+1)/W), and their spec configs' validation.
 */
import { describe, expect, it } from 'vitest';
import { Registry, TdxError } from '@tdx/core';
import {
  cosineDecaySchedule,
  inverseSqrtSchedule,
  linearDecaySchedule,
  linearWarmupSchedule,
  register,
  scheduleConfig,
  scheduleFromConfig,
  stepDecaySchedule,
  type Schedule,
  type ScheduleConfigInput,
} from '../src/index.js';

const fromSpec = (lr: number, config: ScheduleConfigInput): Schedule =>
  scheduleFromConfig(lr, scheduleConfig.parse(config));

/** Expects schedule(t) = value for each [t, value]. */
function expectValues(schedule: Schedule, values: Array<[number, number]>): void {
  for (const [step, value] of values) expect(schedule(step), `step ${step}`).toBeCloseTo(value, 14);
}

describe('schedules at chosen steps, against closed forms', () => {
  it('constant', () => {
    expectValues(fromSpec(0.3, { name: 'constant' }), [
      [0, 0.3],
      [1, 0.3],
      [10_000, 0.3],
    ]);
  });

  it('linear-warmup: lr/W at the first update, lr from update W−1 on', () => {
    const values: Array<[number, number]> = [
      [0, 0.05],
      [1, 0.1],
      [2, 0.15],
      [3, 0.2],
      [4, 0.2],
      [1000, 0.2],
    ];
    expectValues(fromSpec(0.2, { name: 'linear-warmup', warmupSteps: 4 }), values);
    expectValues(linearWarmupSchedule(0.2, { warmupSteps: 4 }), values);
  });

  it('cosine without warmup is CosineAnnealingLR: lr·(1+cos(πt/D))/2, floor after D', () => {
    const lr = 0.5;
    expectValues(fromSpec(lr, { name: 'cosine', decaySteps: 100 }), [
      [0, lr],
      [25, (lr * (1 + Math.SQRT1_2)) / 2],
      [50, lr / 2],
      [75, (lr * (1 - Math.SQRT1_2)) / 2],
      [100, 0],
      [250, 0],
    ]);
  });

  it('cosine with warmup and a floor: (1+minFactor)/2 × lr at the decay midpoint', () => {
    // W = 100, D = 2000, minFactor 0.1: the decay runs over t = 100..2000, its midpoint is 1050.
    const lr = 0.02;
    const config = { name: 'cosine', warmupSteps: 100, decaySteps: 2000, minFactor: 0.1 } as const;
    const values: Array<[number, number]> = [
      [0, lr / 100],
      [49, lr / 2],
      [99, lr],
      [100, lr],
      [575, lr * (0.1 + (0.9 * (1 + Math.SQRT1_2)) / 2)], // a quarter of the decay: cos(π/4)
      [1050, ((1 + 0.1) / 2) * lr],
      [1525, lr * (0.1 + (0.9 * (1 - Math.SQRT1_2)) / 2)],
      [2000, 0.1 * lr],
      [5000, 0.1 * lr],
    ];
    expectValues(fromSpec(lr, config), values);
    expectValues(cosineDecaySchedule(lr, config), values);
  });

  it('linear decay: LinearLR without warmup; with warmup, from lr at W to minFactor·lr at D', () => {
    expectValues(fromSpec(1, { name: 'linear', decaySteps: 100 }), [
      [0, 1],
      [25, 0.75],
      [99, 0.01],
      [100, 0],
      [150, 0],
    ]);
    const values: Array<[number, number]> = [
      [0, 0.05],
      [9, 0.5],
      [19, 1],
      [20, 1],
      [70, 0.75], // halfway from 1 to 0.5
      [120, 0.5],
      [999, 0.5],
    ];
    const config = { warmupSteps: 20, decaySteps: 120, minFactor: 0.5 };
    expectValues(fromSpec(1, { name: 'linear', ...config }), values);
    expectValues(linearDecaySchedule(1, config), values);
  });

  it('step: StepLR, lr·gamma^⌊t/every⌋ (gamma 0.1 by default)', () => {
    const values: Array<[number, number]> = [
      [0, 0.5],
      [29, 0.5],
      [30, 0.05],
      [59, 0.05],
      [60, 0.005],
      [90, 0.0005],
    ];
    expectValues(fromSpec(0.5, { name: 'step', every: 30 }), values);
    expectValues(stepDecaySchedule(0.5, { every: 30, gamma: 0.1 }), values);
    expectValues(fromSpec(1, { name: 'step', every: 2, gamma: 0.5 }), [
      [1, 1],
      [2, 0.5],
      [7, 0.125],
    ]);
  });

  it('inverse-sqrt: lr·min((t+1)/W, √(W/(t+1))), peak lr at update W−1', () => {
    const values: Array<[number, number]> = [
      [0, 0.25],
      [1, 0.5],
      [3, 1],
      [15, 0.5],
      [99, 0.2],
      [399, 0.1],
    ];
    expectValues(fromSpec(1, { name: 'inverse-sqrt', warmupSteps: 4 }), values);
    expectValues(inverseSqrtSchedule(1, { warmupSteps: 4 }), values);
    expectValues(fromSpec(2, { name: 'inverse-sqrt' }), [
      [0, 2],
      [3, 1],
      [99, 0.2],
    ]);
  });

  it('a warmup of 1 update runs at lr; the decays then start at t = 1, as optax', () => {
    expectValues(fromSpec(1, { name: 'cosine', decaySteps: 51, warmupSteps: 1 }), [
      [0, 1],
      [1, 1],
      [26, 0.5],
      [51, 0],
    ]);
    expectValues(fromSpec(1, { name: 'linear-warmup', warmupSteps: 1 }), [[0, 1]]);
    expectValues(fromSpec(1, { name: 'inverse-sqrt', warmupSteps: 1 }), [
      [0, 1],
      [8, 1 / 3],
    ]);
  });
});

describe('schedule configs', () => {
  const registry = register(Registry.create());
  const check = (ref: Record<string, unknown>) => registry.check('optimizer', ref, 'optimizers[0]');

  it('apply their defaults; lr stays the peak rate', () => {
    const { resolved } = check({
      name: 'adam',
      lr: 0.02,
      schedule: { name: 'cosine', warmupSteps: 100, decaySteps: 2000 },
    });
    expect(resolved?.config).toMatchObject({
      lr: 0.02,
      schedule: { name: 'cosine', warmupSteps: 100, decaySteps: 2000, minFactor: 0 },
    });
    expect(
      check({ name: 'sgd', lr: 0.1, schedule: { name: 'step', every: 5 } }).resolved?.config,
    ).toMatchObject({ schedule: { name: 'step', every: 5, gamma: 0.1 } });
    expect(
      check({ name: 'sgd', lr: 0.1, schedule: { name: 'inverse-sqrt' } }).resolved?.config,
    ).toMatchObject({ schedule: { name: 'inverse-sqrt', warmupSteps: 0 } });
    expect(check({ name: 'sgd', lr: 0.1 }).resolved?.config).not.toHaveProperty('schedule');
  });

  it('reject a warmup that does not fit inside decaySteps, at the warmup path', () => {
    for (const name of ['cosine', 'linear'])
      for (const warmupSteps of [100, 150])
        expect(
          check({ name: 'adam', lr: 0.02, schedule: { name, warmupSteps, decaySteps: 100 } })
            .problems,
        ).toEqual([
          {
            path: 'optimizers[0].schedule.warmupSteps',
            message:
              'must be < decaySteps (100): decaySteps is the whole schedule, warmup included',
            value: warmupSteps,
          },
        ]);
  });

  it('reject unknown schedules, missing and out-of-range fields and unknown keys, with paths', () => {
    const problems = (schedule: unknown) =>
      check({ name: 'sgd', lr: 0.1, schedule }).problems.map(({ path, message, value }) => ({
        path,
        message,
        value,
      }));
    expect(problems({ name: 'cosin', decaySteps: 10 })).toEqual([
      {
        path: 'optimizers[0].schedule.name',
        message:
          'unknown schedule "cosin"; did you mean "cosine"? choices: constant, linear-warmup, cosine, linear, step, inverse-sqrt',
        value: 'cosin',
      },
    ]);
    expect(problems({ decaySteps: 10 })).toEqual([
      {
        path: 'optimizers[0].schedule.name',
        message:
          'required: the schedule, one of constant, linear-warmup, cosine, linear, step, inverse-sqrt',
        value: undefined,
      },
    ]);
    expect(problems('cosine')).toEqual([
      { path: 'optimizers[0].schedule', message: 'expected object', value: 'cosine' },
    ]);
    expect(problems({ name: 'cosine' })).toEqual([
      { path: 'optimizers[0].schedule.decaySteps', message: 'required (number)', value: undefined },
    ]);
    expect(problems({ name: 'linear-warmup' })).toEqual([
      {
        path: 'optimizers[0].schedule.warmupSteps',
        message: 'required (number)',
        value: undefined,
      },
    ]);
    expect(problems({ name: 'linear', decaySteps: 2.5, minFactor: 1.5, warmupSteps: -1 })).toEqual([
      { path: 'optimizers[0].schedule.warmupSteps', message: 'must be >= 0', value: -1 },
      { path: 'optimizers[0].schedule.decaySteps', message: 'expected int', value: 2.5 },
      { path: 'optimizers[0].schedule.minFactor', message: 'must be <= 1', value: 1.5 },
    ]);
    expect(problems({ name: 'step', every: 0, gamma: 0 })).toEqual([
      { path: 'optimizers[0].schedule.every', message: 'must be >= 1', value: 0 },
      { path: 'optimizers[0].schedule.gamma', message: 'must be > 0', value: 0 },
    ]);
    expect(problems({ name: 'step', every: 10, gamma: 2 })).toEqual([
      { path: 'optimizers[0].schedule.gamma', message: 'must be <= 1', value: 2 },
    ]);
    expect(problems({ name: 'linear-warmup', warmupSteps: 0 })).toEqual([
      { path: 'optimizers[0].schedule.warmupSteps', message: 'must be >= 1', value: 0 },
    ]);
    expect(problems({ name: 'cosine', decaySteps: 100, minfactor: 0.1 })).toEqual([
      {
        path: 'optimizers[0].schedule.minfactor',
        message:
          'unknown key for schedule "cosine"; did you mean "minFactor"? allowed keys: name, warmupSteps, decaySteps, minFactor',
        value: 0.1,
      },
    ]);
    expect(problems({ name: 'step', every: 10, decaySteps: 100 })[0]).toMatchObject({
      path: 'optimizers[0].schedule.decaySteps',
    });
  });

  it('reject the same mistakes when built in code, with a TdxError', () => {
    const bad: Array<() => unknown> = [
      () => cosineDecaySchedule(1, { warmupSteps: 10, decaySteps: 10 }),
      () => linearDecaySchedule(1, { decaySteps: 0 }),
      () => cosineDecaySchedule(1, { decaySteps: 10, minFactor: -0.1 }),
      () => linearWarmupSchedule(1, { warmupSteps: 0 }),
      () => stepDecaySchedule(1, { every: 1.5 }),
      () => stepDecaySchedule(1, { every: 3, gamma: 0 }),
      () => inverseSqrtSchedule(1, { warmupSteps: -2 }),
    ];
    for (const make of bad) expect(make).toThrow(TdxError);
    expect(() => cosineDecaySchedule(1, { warmupSteps: 10, decaySteps: 10 })).toThrow(
      'cosine: warmupSteps (10) must be < decaySteps (10), which includes the warmup',
    );
  });
});
