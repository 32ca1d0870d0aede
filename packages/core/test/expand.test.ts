import { describe, expect, it } from 'vitest';
import {
  hashOf,
  Registry,
  resolveExperiment,
  runSpecToJson,
  TdxError,
  type Problem,
} from '../src/index.js';
import { toyPlugins, toySpec } from './fixtures/toy-plugins.js';

const registry = () => Registry.create().register(...toyPlugins);
const base = {
  ...toySpec,
  optimizers: undefined,
  optimizer: { name: 'toy-gd', lr: 0.1 },
  analyses: [],
};

async function problems(spec: unknown): Promise<Problem[]> {
  try {
    await resolveExperiment(spec, { registry: registry() });
  } catch (error) {
    if (error instanceof TdxError) return error.problems;
    throw error;
  }
  throw new Error('expected problems');
}

describe('expanding an experiment', () => {
  it('makes models × optimizers × sweep points × seeds runs, each with a distinct id', async () => {
    const { runs } = await resolveExperiment(
      {
        ...base,
        optimizer: undefined,
        model: undefined,
        models: [
          { name: 'toy-quadratic', label: 'flat', curvature: 0.5 },
          { name: 'toy-quadratic', label: 'steep', curvature: 4 },
        ],
        optimizers: [{ name: 'toy-gd', lr: 0.1, label: 'gd' }],
        sweep: { 'optimizer.lr': [0.01, 0.1, 1], 'train.steps': [10, 20] },
        seeds: [0, 7],
      },
      { registry: registry() },
    );
    expect(runs).toHaveLength(2 * 1 * 6 * 2);
    expect(new Set(runs.map((r) => r.id)).size).toBe(24);
    const one = runs.find((r) => r.label === 'steep_gd_lr=1_steps=20_seed=7')!;
    expect(one.group).toBe('steep_gd_lr=1_steps=20');
    expect(one.spec.optimizer.config.lr).toBe(1);
    expect(one.spec.train.steps).toBe(20);
    expect(one.spec.model.config.curvature).toBe(4);
    expect(one.id).toBe(`${one.label}-${hashOf(runSpecToJson(one.spec))}`);
  });

  it("writes each run's spec so that it resolves to exactly that run again", async () => {
    const { runs } = await resolveExperiment(
      { ...base, sweep: { 'optimizer.lr': [0.2, 0.3] } },
      { registry: registry() },
    );
    const again = await resolveExperiment(runSpecToJson(runs[1]!.spec), { registry: registry() });
    expect(again.runs).toHaveLength(1);
    expect(again.runs[0]!.spec).toEqual(runs[1]!.spec);
  });

  it('reports a bad sweep value at the sweep, with its index', async () => {
    expect(await problems({ ...base, sweep: { 'optimizer.lr': [0.1, -1] } })).toEqual([
      { path: 'sweep["optimizer.lr"][1]', message: 'must be > 0', value: -1 },
    ]);
    expect(await problems({ ...base, sweep: { 'optimizer.lrr': [0.1] } })).toEqual([
      expect.objectContaining({
        path: 'sweep["optimizer.lrr"][0]',
        message: 'unknown key for optimizer "toy-gd"',
        hint: expect.stringContaining('did you mean "lr"?'),
      }),
    ]);
    expect(await problems({ ...base, sweep: { 'train.steps': [10, 0] } })).toEqual([
      { path: 'sweep["train.steps"][1]', message: 'must be > 0', value: 0 },
    ]);
  });

  it('rejects an empty sweep axis and a path outside a run', async () => {
    expect(await problems({ ...base, sweep: { 'optimizer.lr': [] } })).toEqual([
      { path: 'sweep["optimizer.lr"]', message: 'must have at least 1 item(s)', value: [] },
    ]);
    const [bad] = await problems({ ...base, sweep: { lr: [1] } });
    expect(bad).toMatchObject({
      path: 'sweep["lr"]',
      message: expect.stringContaining('a sweep path starts with'),
    });
  });

  it('asks for exactly one of model and models', async () => {
    expect(await problems({ ...base, models: [{ name: 'toy-quadratic' }] })).toEqual([
      {
        path: 'models',
        message: 'give either model or models, not both',
        value: [{ name: 'toy-quadratic' }],
      },
    ]);
    const { model: _m, ...noModel } = base;
    expect(await problems(noModel)).toContainEqual({
      path: 'model',
      message: 'required (a model, or a list under models)',
    });
    expect(await problems({ ...base, seeds: [] })).toEqual([
      { path: 'seeds', message: 'must have at least 1 item(s)', value: [] },
    ]);
  });
});

describe('models with their own dataset', () => {
  const models = [
    { name: 'toy-quadratic', label: 'noisy', dataset: { name: 'toy-data', noise: 0.5 } },
    { name: 'toy-quadratic', label: 'clean', curvature: 2, dataset: 'toy-data' },
  ];

  it('train each on its own data, and need no spec-wide dataset', async () => {
    const { spec, runs } = await resolveExperiment(
      { ...base, dataset: undefined, model: undefined, models },
      { registry: registry() },
    );
    expect(spec.dataset).toBeUndefined();
    expect(runs.map((r) => [r.model, r.spec.dataset.config.noise])).toEqual([
      ['noisy', 0.5],
      ['clean', 0],
    ]);
    // The run spec is the ordinary kind: one dataset, one model without a dataset key.
    expect(runSpecToJson(runs[0]!.spec).model).toEqual({
      name: 'toy-quadratic',
      label: 'noisy',
      curvature: 2,
      init: 0,
    });
    const again = await resolveExperiment(runSpecToJson(runs[1]!.spec), { registry: registry() });
    expect(again.runs[0]!.spec).toEqual(runs[1]!.spec);
  });

  it("fall back to the spec's dataset, which is required when a model has none", async () => {
    const { runs } = await resolveExperiment(
      { ...base, model: undefined, models: [models[0], { name: 'toy-quadratic', label: 'plain' }] },
      { registry: registry() },
    );
    expect(runs.map((r) => r.spec.dataset.config.noise)).toEqual([0.5, 0.1]);
    expect(
      await problems({
        ...base,
        dataset: undefined,
        model: undefined,
        models: [models[0], { name: 'toy-quadratic', label: 'plain' }],
      }),
    ).toEqual([
      {
        path: 'dataset',
        message: 'required (the data of every run, unless every model names its own dataset)',
      },
    ]);
    const [bad] = await problems({
      ...base,
      model: { name: 'toy-quadratic', dataset: { name: 'toy-data', noize: 1 } },
    });
    expect(bad!.path).toBe('model.dataset.noize');
  });

  it('runs an analysis only in the runs its `where` selects, and says when it selects none', async () => {
    const { spec, runs } = await resolveExperiment(
      {
        ...base,
        optimizer: undefined,
        optimizers: [
          { name: 'toy-gd', label: 'slow', lr: 0.01 },
          { name: 'toy-gd', label: 'fast', lr: 0.5 },
        ],
        tune: { grid: { slow: { lr: [0.01, 0.1] }, fast: { lr: [0.5, 1] } } },
        seeds: [0, 1],
        analyses: [
          {
            name: 'toy-curvature',
            label: 'once',
            at: [0],
            where: { optimizer: 'slow', tune: { lr: 0.01 } },
          },
          { name: 'toy-curvature', label: 'seed1', where: { seed: [1] } },
          { name: 'toy-curvature', label: 'all' },
        ],
      },
      { registry: registry() },
    );
    expect(runs).toHaveLength(8);
    const labels = (r: (typeof runs)[number]) => r.spec.analyses.map((a) => a.label);
    const by = (label: string) => runs.find((r) => r.label === label)!;
    expect(labels(by('slow_lr=0.01_seed=0'))).toEqual(['once', 'all']);
    expect(labels(by('slow_lr=0.01_seed=1'))).toEqual(['once', 'seed1', 'all']);
    expect(labels(by('slow_lr=0.1_seed=0'))).toEqual(['all']);
    expect(labels(by('fast_lr=1_seed=1'))).toEqual(['seed1', 'all']);
    // Applied: a run's own spec has no `where` and resolves to the same run again.
    const one = by('slow_lr=0.01_seed=1');
    expect(one.spec.analyses.every((a) => a.where === undefined)).toBe(true);
    const again = await resolveExperiment(runSpecToJson(one.spec), { registry: registry() });
    expect(hashOf(runSpecToJson(again.runs[0]!.spec))).toBe(hashOf(runSpecToJson(one.spec)));
    // The experiment keeps it.
    expect(spec.analyses[0]!.where).toEqual({ optimizer: 'slow', tune: { lr: 0.01 } });
    const found = await problems({
      ...base,
      analyses: [{ name: 'toy-curvature', where: { optimizer: 'adam' } }],
    });
    expect(found).toMatchObject([
      { path: 'analyses[0].where', message: 'selects no run of this spec' },
    ]);
    const typo = await problems({
      ...base,
      analyses: [{ name: 'toy-curvature', where: { optimiser: 'toy-gd' } }],
    });
    expect(typo[0]!.path).toBe('analyses[0].where.optimiser');
  });

  it('lets analyses share a label when their where: clauses never select the same run', async () => {
    const models = [
      { name: 'toy-quadratic', label: 'flat', curvature: 0.5 },
      { name: 'toy-quadratic', label: 'steep', curvature: 4 },
    ];
    const { runs } = await resolveExperiment(
      {
        ...base,
        model: undefined,
        models,
        analyses: [
          { name: 'toy-curvature', label: 'c', scale: 1, where: { model: 'flat' } },
          { name: 'toy-curvature', label: 'c', scale: 2, where: { model: 'steep' } },
        ],
      },
      { registry: registry() },
    );
    expect(runs.map((r) => r.spec.analyses.map((a) => [a.label, a.config.scale]))).toEqual([
      [['c', 1]],
      [['c', 2]],
    ]);
    const overlapping = await problems({
      ...base,
      model: undefined,
      models,
      analyses: [
        { name: 'toy-curvature', label: 'c', where: { model: 'flat' } },
        { name: 'toy-curvature', label: 'c', where: { seed: 0 } },
      ],
    });
    expect(overlapping).toMatchObject([
      {
        path: 'analyses',
        message:
          'two analyses labelled "c" select the same run (model flat, optimizer toy-gd, seed 0)',
      },
    ]);
    const without = await problems({
      ...base,
      analyses: [
        { name: 'toy-curvature', label: 'c' },
        { name: 'toy-curvature', label: 'c', where: { seed: 0 } },
      ],
    });
    expect(without[0]!.path).toBe('analyses[1].label');
  });
});
