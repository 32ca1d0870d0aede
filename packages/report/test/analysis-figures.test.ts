/** Analysis figures: the instance's own figures when it has them, value against step otherwise. */
import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  definePlugin,
  z,
  type AnalysisInstance,
  type FigureSpec,
  type LinesFigure,
} from '@tdx/core';
import { analysisFigures, analysisRef } from '../src/index.js';
import { analysis, experiment, run } from './support/data.js';

/** Two seeds of sgd and one adam run, each with a `noise` analysis (plugin gradient-noise). */
function runs() {
  const values = (scale: number): Array<[number, number]> => [
    [0, 1 * scale],
    [10, -2 * scale],
  ];
  const all = [
    run('sgd_seed=0', 'sgd', 0, [1], {
      analyses: { noise: analysis('noise', values(1), 'gradient-noise') },
    }),
    run('sgd_seed=1', 'sgd', 1, [1], {
      analyses: { noise: analysis('noise', values(3), 'gradient-noise') },
    }),
    run('adam', 'adam', 0, [1], {
      analyses: { noise: analysis('noise', values(2), 'gradient-noise') },
    }),
    run('plain', 'plain', 0, [1]), // without the analysis
  ];
  for (const r of all)
    r.spec.analyses = [{ name: 'gradient-noise', label: 'noise', every: 10, at: [5], window: 3 }];
  return all;
}

/** A gradient-noise analysis that draws its own figure and remembers what it was given. */
function noisePlugin(draw: (input: unknown, config: unknown) => FigureSpec[]) {
  return definePlugin({
    kind: 'analysis',
    name: 'gradient-noise',
    description: 'test double',
    config: z.object({ window: z.number() }),
    create: (config): AnalysisInstance => ({
      run: () => ({}),
      figures: (input) => draw(input, config),
    }),
  });
}

const own: FigureSpec = {
  kind: 'histogram',
  id: 'noise-histogram',
  title: 'noise',
  x: { label: 'norm' },
  series: [],
};

describe('analysis figures', () => {
  it('fall back to value against step, per group, when the plugin is not registered', () => {
    const [figure, ...rest] = analysisFigures(experiment(runs()), {
      registry: createRegistry(),
    }) as LinesFigure[];
    expect(rest).toEqual([]);
    expect(figure).toMatchObject({
      kind: 'lines',
      id: 'analysis-noise',
      // Without the plugin here, its id stands for its display name.
      title: 'Gradient-noise (noise)',
      x: { label: 'step' },
      y: { label: 'gradient-noise', log: false }, // some values are negative
    });
    expect(figure!.series.map((s) => s.name)).toEqual(['sgd', 'adam']);
    expect(figure!.series[0]!.points).toEqual([
      { x: 0, y: 2 },
      { x: 10, y: -4 },
    ]);
    expect(figure!.series[0]!.band).toEqual([
      { x: 0, lo: 1, hi: 3 },
      { x: 10, lo: -6, hi: -2 },
    ]);
  });

  it("are titled by the plugin's display name, not its id, when it is registered", () => {
    const titled = definePlugin({
      kind: 'analysis',
      name: 'gradient-noise',
      title: 'gradient-noise tail index α̂',
      description: 'test double without figures',
      config: z.object({ window: z.number() }),
      create: (): AnalysisInstance => ({ run: () => ({}) }),
    });
    const registry = createRegistry().register(titled);
    const [figure] = analysisFigures(experiment(runs()), { registry });
    expect(figure).toMatchObject({
      title: 'Gradient-noise tail index α̂ (noise)',
      y: { label: 'gradient-noise tail index α̂' },
    });
    expect(figure!.caption).toContain('“noise” (gradient-noise)');
    // The label is left out of the title when it is the plugin's name.
    const all = runs();
    for (const r of all) {
      r.analyses = { 'gradient-noise': { ...r.analyses.noise!, label: 'gradient-noise' } };
      r.spec.analyses = [{ name: 'gradient-noise', every: 10, window: 3 }];
    }
    const [plain] = analysisFigures(experiment(all.slice(0, 3)), { registry });
    expect(plain).toMatchObject({ title: 'Gradient-noise tail index α̂' });
    expect(plain!.caption).toMatch(
      /^The value of the analysis gradient-noise at each step it ran\./,
    );
  });

  it('use a log scale for values that are all positive', () => {
    const positive = runs().slice(2, 3);
    positive[0]!.analyses.noise!.records = [
      { step: 0, value: 2 },
      { step: 10, value: 0.5 },
    ];
    const [figure] = analysisFigures(experiment(positive), { registry: createRegistry() });
    expect(figure).toMatchObject({ y: { log: true } });
  });

  it("use the analysis's own figures, created from the reference without schedule keys", () => {
    let seen: { input: unknown; config: unknown } | undefined;
    const registry = createRegistry().register(
      noisePlugin((input, config) => {
        seen = { input, config };
        return [own];
      }),
    );
    const all = runs();
    expect(analysisFigures(experiment(all), { registry })).toEqual([own]);
    expect(seen!.config).toEqual({ window: 3 });
    const input = seen!.input as Array<{ run: Record<string, unknown>; file: unknown }>;
    expect(input.map((i) => i.run.label)).toEqual(['sgd_seed=0', 'sgd_seed=1', 'adam']);
    expect(input[2]!.file).toBe(all[2]!.analyses.noise);
    // The run's identity, not its data.
    expect(Object.keys(input[0]!.run).sort()).toEqual(
      ['group', 'id', 'label', 'model', 'optimizer', 'seed', 'sweep'].sort(),
    );
  });

  it('fall back when the analysis draws nothing or fails to; a failure is reported, not hidden', () => {
    const cases: Array<[() => FigureSpec[], string[]]> = [
      [() => [], []],
      [
        () => {
          throw new Error('bad data');
        },
        ['the figures of analysis "noise" failed: bad data'],
      ],
    ];
    for (const [draw, expected] of cases) {
      const registry = createRegistry().register(noisePlugin(draw));
      const problems: string[] = [];
      const figures = analysisFigures(experiment(runs()), {
        registry,
        problem: (m) => problems.push(m),
      });
      expect(figures.map((f) => f.id)).toEqual(['analysis-noise']);
      expect(problems).toEqual(expected);
    }
  });

  it('report nothing for an analysis whose plugin is not loaded here', () => {
    const problems: string[] = [];
    analysisFigures(experiment(runs()), {
      registry: createRegistry(),
      problem: (m) => problems.push(m),
    });
    expect(problems).toEqual([]);
  });

  it('are none for an analysis whose records carry no value', () => {
    const all = runs();
    for (const r of all) for (const rec of r.analyses.noise?.records ?? []) delete rec.value;
    expect(analysisFigures(experiment(all), { registry: createRegistry() })).toEqual([]);
  });
});

describe('analysisRef', () => {
  it("finds the spec's reference by label and drops every and at", () => {
    expect(analysisRef(runs()[0]!, 'noise')).toEqual({
      name: 'gradient-noise',
      label: 'noise',
      window: 3,
    });
    expect(analysisRef(runs()[0]!, 'other')).toBeUndefined();
  });
});
