/**
 * The spectrum-distance reporter on spectra whose Jensen–Shannon divergences are known in
 * closed form: identical spectra (0) and spectra whose nodes lie far apart against the
 * Gaussian width (ln 2, the largest possible in probability mode).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createRegistry,
  type ExperimentData,
  type ReporterInstance,
  type RunData,
} from '@tdx/core';
import { register, SLQ_PRESETS } from '../src/index.js';

const settings = { ...SLQ_PRESETS.tdx, broadening: { rule: 'fixed' as const, sigma: 0.01 } };
/** One probe with these nodes, equal weights. */
const spectrum = (name: string, nodes: number[]) => ({
  name,
  quadratures: [{ nodes, weights: nodes.map(() => 1 / nodes.length) }],
});
/** Eleven nodes whose 10th largest is `scale`. */
const shape = (scale: number) => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((x) => (x / 2) * scale);

function run(model: string, seed: number, spectra: ReturnType<typeof spectrum>[], extra = {}) {
  return {
    id: `${model}-${seed}`,
    label: `${model}_seed=${seed}`,
    group: model,
    seed,
    model,
    optimizer: 'adam',
    sweep: {},
    dir: '',
    spec: {},
    info: {},
    metrics: [],
    analyses: {
      spectrum: {
        analysis: 'hessian-spectrum',
        label: 'spectrum',
        config: {},
        records: [{ step: 0, value: 1, settings, spectra, ...extra }],
      },
    },
  } as RunData;
}
const experiment = (runs: RunData[], dir = ''): ExperimentData => ({
  name: 'x',
  dir,
  spec: {},
  runs,
});
const reporter = (config: Record<string, unknown>) =>
  register(createRegistry()).create<ReporterInstance>('reporter', {
    name: 'spectrum-distance',
    analysis: 'spectrum',
    ...config,
  });

describe('spectrum-distance', () => {
  it('gives 0 for identical spectra, ln 2 for disjoint ones, and means over block pairs', () => {
    const full = spectrum('H', [0, 1, 5]);
    // gpt's two blocks are far apart (JS⁰ = ln 2); cnn's two are alike (JS⁰ = 0).
    const gpt = run('gpt', 0, [full, spectrum('a', [1]), spectrum('b', [100])]);
    const cnn = run('cnn', 0, [full, spectrum('c', [1]), spectrum('d', [1])]);
    const dir = mkdtempSync(join(tmpdir(), 'spectrum-distance-'));
    try {
      const [path] = reporter({}).report(experiment([gpt, cnn], dir), {
        registry: createRegistry(),
      }) as string[];
      const summary = JSON.parse(readFileSync(path!, 'utf8'));
      expect(summary.normalization).toBe('as measured');
      const [pair] = summary.pairs;
      expect(pair.models).toEqual(['gpt', 'cnn']);
      expect(pair.full).toBeCloseTo(0, 12);
      expect(pair.within[0]).toBeCloseTo(Math.LN2, 10);
      expect(pair.within[1]).toBeCloseTo(0, 12);
      // a–c 0, a–d 0, b–c ln 2, b–d ln 2.
      expect(pair.acrossBlocks).toBeCloseTo(Math.LN2 / 2, 10);
      expect(Object.keys(summary.full.densities)).toEqual(['gpt', 'cnn']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compares the shapes when the spectra are divided by their k-th largest eigenvalue', () => {
    const a = run('gpt', 0, [spectrum('H', shape(1)), spectrum('a', shape(1))]);
    const b = run('cnn', 0, [spectrum('H', shape(50)), spectrum('c', shape(50))]);
    const data = experiment([a, b]);
    const r = reporter({ normalize: { kth: 10 } }) as ReporterInstance;
    const section = r.section!(data, { registry: createRegistry() })!;
    // Divided by λ_10 (0.5 and 25), the two are the same: 0; as measured, disjoint: ln 2.
    expect(section.table!.rows[0]![3]).toBeCloseTo(0, 10);
    expect(section.table!.rows[0]![4]).toBeCloseTo(0, 10);
    const raw = reporter({ normalize: false }).section!(data, { registry: createRegistry() })!;
    // As measured, only the node at 0 (weight 1/11) is shared: ln 2 · 10/11.
    expect(raw.table!.rows[0]![3]).toBeCloseTo((Math.LN2 * 10) / 11, 6);
    // As the analysis stored them: a record's `normalize` is followed.
    const stored = experiment([
      run('gpt', 0, a.analyses.spectrum!.records[0]!.spectra as never, { normalize: { kth: 10 } }),
      run('cnn', 0, b.analyses.spectrum!.records[0]!.spectra as never, { normalize: { kth: 10 } }),
    ]);
    const followed = reporter({}).section!(stored, { registry: createRegistry() })!;
    expect(followed.table!.rows[0]![3]).toBeCloseTo(0, 10);
    expect(followed.figures![0]!.kind).toBe('density');
  });

  it('rebuilds the densities at each fixed width asked, and means over the shared seeds', () => {
    // Full spectra 1 apart: disjoint at width 0.01, nearly the same at width 10.
    const runs = [0, 1].flatMap((seed) => [
      run('gpt', seed, [spectrum('H', [0]), spectrum('a', [0])]),
      run('cnn', seed, [spectrum('H', [1]), spectrum('c', [1])]),
    ]);
    const section = reporter({ sigmas: [0.01, 10] }).section!(experiment(runs), {
      registry: createRegistry(),
    })!;
    const [narrow, wide] = section.table!.rows;
    expect(narrow![1]).toBe(0.01);
    expect(narrow![2]).toBe(2);
    expect(narrow![3]).toBeCloseTo(Math.LN2, 8);
    // Two Gaussians Δ = 1 apart at σ = 10: JS ≈ Δ²/(8σ²) (Fisher information 1/σ², small Δ/σ).
    expect(wide![3]).toBeCloseTo(0.01 / 8, 4);
  });

  it('says nothing with fewer than two models', () => {
    const one = experiment([run('gpt', 0, [spectrum('H', [0]), spectrum('a', [0])])]);
    expect(reporter({}).section!(one, { registry: createRegistry() })).toBeUndefined();
    expect(reporter({}).report(one, { registry: createRegistry() })).toEqual([]);
  });
});
