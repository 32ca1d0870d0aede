/** `tune:` grids: their expansion into runs, their errors, and the choice of the best value. */
import { describe, expect, it } from 'vitest';
import {
  Registry,
  resolveExperiment,
  selectTuned,
  TdxError,
  tunedView,
  type ExperimentData,
  type Problem,
  type RunData,
} from '../src/index.js';
import { toyPlugins, toySpec } from './fixtures/toy-plugins.js';

const registry = () => Registry.create().register(...toyPlugins);
const base = {
  ...toySpec,
  optimizer: undefined,
  optimizers: [
    { name: 'toy-gd', label: 'gd', lr: 0.1 },
    { name: 'toy-gd', label: 'fixed', lr: 0.5 },
  ],
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

describe('tune grids', () => {
  it("run every value of an optimizer's grid, its other optimizers once", async () => {
    const { spec, runs } = await resolveExperiment(
      {
        ...base,
        seeds: [1, 2],
        sweep: { 'model.curvature': [1, 3] },
        tune: { grid: { gd: { lr: [0.01, 0.1, 1] } } },
      },
      { registry: registry() },
    );
    expect(spec.tune).toEqual({ metric: 'finalLoss', grid: { gd: { lr: [0.01, 0.1, 1] } } });
    // gd: 2 curvatures × 3 rates × 2 seeds; fixed: 2 curvatures × 2 seeds.
    expect(runs).toHaveLength(12 + 4);
    const one = runs.find((r) => r.label === 'gd_curvature=3_lr=1_seed=2')!;
    expect(one.tune).toEqual({ lr: 1 });
    expect(one.sweep).toEqual({ 'model.curvature': 3 });
    expect(one.group).toBe('gd_curvature=3_lr=1');
    expect(one.spec.optimizer.config.lr).toBe(1);
    expect(runs.find((r) => r.optimizer === 'fixed')!.tune).toBeUndefined();
  });

  it('name a bad value, an unknown optimizer and a doubly varied path where they are', async () => {
    expect(await problems({ ...base, tune: { grid: { gd: { lr: [0.1, -1] } } } })).toEqual([
      { path: 'tune.grid.gd["lr"][1]', message: 'must be > 0', value: -1 },
    ]);
    const [unknown] = await problems({ ...base, tune: { grid: { adam: { lr: [0.1] } } } });
    expect(unknown).toMatchObject({
      path: 'tune.grid.adam',
      message: 'names no optimizer of the spec (got "adam")',
      hint: 'optimizer labels: gd, fixed',
    });
    const [both] = await problems({
      ...base,
      sweep: { 'optimizer.lr': [0.1] },
      tune: { grid: { gd: { lr: [0.1] } } },
    });
    expect(both).toMatchObject({
      path: 'tune.grid.gd["lr"]',
      message: 'the sweep varies optimizer.lr too',
    });
    const [metric] = await problems({ ...base, tune: { metric: 'accuracy', grid: {} } });
    expect(metric!.path).toBe('tune.metric');
  });
});

function run(
  id: string,
  lr: number,
  seed: number,
  finalLoss: number | undefined,
  extra: Partial<RunData> = {},
): RunData {
  return {
    id,
    label: id,
    group: `gd_lr=${lr}`,
    seed,
    model: 'm',
    optimizer: 'gd',
    sweep: {},
    tune: { lr },
    dir: '',
    spec: {},
    info: {},
    metrics: [
      { step: 0, loss: 5 },
      { step: 10, loss: finalLoss ?? null },
    ] as RunData['metrics'],
    analyses: {},
    result: {
      id,
      label: id,
      dir: '',
      status: 'completed',
      steps: 10,
      wallMs: 1,
      ...(finalLoss === undefined ? {} : { finalLoss }),
    },
    ...extra,
  };
}

describe('choosing the tuned value', () => {
  it('takes the lowest mean over seeds; a diverged or failed run is never chosen', () => {
    const runs = [
      run('a1', 0.01, 1, 0.5),
      run('a2', 0.01, 2, 0.5),
      run('b1', 0.1, 1, 0.1), // best on one seed, diverged on the other
      run('b2', 0.1, 2, undefined),
      run('c1', 1, 1, 0.3),
      run('c2', 1, 2, 0.4, {
        result: { id: 'c2', label: 'c2', dir: '', status: 'failed', steps: 3, wallMs: 1 },
      }),
      run('d1', 0.5, 1, 0.2),
      run('d2', 0.5, 2, 0.3),
    ];
    const [cell] = selectTuned(runs, 'finalLoss').cells;
    expect(cell!.candidates.map((c) => c.score)).toEqual([0.5, Infinity, Infinity, 0.25]);
    expect(cell!.chosen!.tune).toEqual({ lr: 0.5 });
    expect(cell!.chosen!.runIds).toEqual(['d1', 'd2']);
    // bestLoss, the minimum along each curve, chooses the same value here.
    expect(selectTuned(runs, 'bestLoss').cells[0]!.chosen!.tune).toEqual({ lr: 0.5 });
  });

  it('shows only the chosen runs of tuned optimizers', () => {
    const data = {
      name: 'x',
      dir: '',
      spec: { tune: { metric: 'finalLoss' } },
      runs: [
        run('a1', 0.01, 1, 0.5),
        run('d1', 0.5, 1, 0.2),
        { ...run('other', 1, 1, 9), tune: undefined },
      ],
    } as unknown as ExperimentData;
    expect(tunedView(data).runs.map((r) => r.id)).toEqual(['d1', 'other']);
    expect(tunedView({ ...data, spec: {} }).runs).toHaveLength(3);
  });
});
