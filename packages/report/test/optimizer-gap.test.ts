/** The optimizer-gap reporter and its statistics, on hand-built experiments. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry, type ReporterInstance, type RunData } from '@tdx/core';
import {
  hierarchicalBootstrap,
  optimizerGap,
  optimizerGapConfig,
  quantile,
  ranks,
  register,
  spearman,
  spearmanPValue,
} from '../src/index.js';
import { analysis, experiment, run } from './support/data.js';

describe('rank correlation', () => {
  it('ranks with ties averaged, and Spearman’s ρ as 1 − 6Σd²/(n(n²−1)) without ties', () => {
    expect(ranks([10, 30, 20, 30])).toEqual([1, 3.5, 2, 3.5]);
    const x = [1, 2, 3, 4, 5, 6];
    const y = [2, 1, 4, 3, 6, 5]; // d = ±1 everywhere: Σd² = 6
    expect(spearman(x, y)).toBeCloseTo(1 - (6 * 6) / (6 * 35), 12);
    expect(spearman(x, [5, 5, 5, 5, 5, 5])).toBeUndefined();
    // Monotone transformations do not change it.
    expect(
      spearman(
        x,
        x.map((v) => Math.exp(v)),
      ),
    ).toBeCloseTo(1, 12);
  });

  it('gives the exact permutation p-value for small n', () => {
    // n = 4, perfectly ordered: only the identity and its reversal reach |ρ| = 1: 2/24.
    expect(spearmanPValue([1, 2, 3, 4], [1, 2, 3, 4])).toBeCloseTo(2 / 24, 12);
    // n = 6, |ρ| = 1: 2/720.
    expect(spearmanPValue([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])).toBeCloseTo(2 / 720, 12);
  });

  it('bootstraps groups and their members reproducibly, leaving out undefined resamples', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    const groups = [[1], [2, 2.2], [3], [4, 3.9]];
    const mean = (g: number[][]) => g.flat().reduce((a, b) => a + b, 0) / g.flat().length;
    const a = hierarchicalBootstrap(groups, mean, { resamples: 500, seed: 3 })!;
    const b = hierarchicalBootstrap(groups, mean, { resamples: 500, seed: 3 })!;
    expect(a).toEqual(b);
    expect(a.lo).toBeGreaterThanOrEqual(1);
    expect(a.hi).toBeLessThanOrEqual(4);
    expect(a.lo).toBeLessThan(a.hi);
    const never = hierarchicalBootstrap(groups, () => undefined, { resamples: 10 });
    expect(never).toBeUndefined();
  });
});

/** A run of `model` with `optimizer`, logged every 10 steps (evalLoss = 1.1 × loss). */
function modelRun(
  model: string,
  optimizer: string,
  seed: number,
  losses: number[],
  extra: Partial<RunData> = {},
): RunData {
  const r = run(`${model}_${optimizer}_seed=${seed}`, `${model}_${optimizer}`, seed, losses, extra);
  return {
    ...r,
    model,
    optimizer,
    result: { ...r.result!, finalEvalLoss: losses.at(-1)! * 1.1 },
  };
}

const js = (value: number) => ({ js: analysis('js', [[0, value]], 'block-heterogeneity') });

/** Three models whose gap grows with their JS⁰; JS⁰ recorded in the sgd runs only. */
function threeModels(): RunData[] {
  const runs: RunData[] = [];
  const models: Array<[string, number, number[], number[]]> = [
    // model, JS⁰, adam losses, sgd losses (seed 0; seed 1 adds 0.1)
    ['cnn', 0.03, [2, 1, 0.5], [2, 1.2, 0.55]],
    ['vit', 0.15, [2, 1, 0.4], [2, 1.5, 1.0]],
    ['gpt', 0.2, [3, 1.5, 1.0], [3, 2.8, 2.5]],
  ];
  for (const [model, x, adam, sgd] of models)
    for (const seed of [0, 1]) {
      const shift = (l: number[]) => l.map((v) => v + 0.1 * seed);
      runs.push(modelRun(model, 'adam', seed, shift(adam)));
      runs.push(modelRun(model, 'sgd', seed, shift(sgd), { analyses: js(x + 0.01 * seed) }));
    }
  return runs;
}

describe('optimizer-gap', () => {
  const data = experiment(threeModels(), {
    name: 'x',
    models: [{ name: 'cnn' }, { name: 'vit' }, { name: 'gpt' }],
  });

  it('computes each model’s final-loss ratio, steps to the target and JS⁰ over seeds', () => {
    const summary = optimizerGap(data, optimizerGapConfig.parse({ resamples: 200 }))!;
    expect(summary.rows.map((r) => r.model)).toEqual(['cnn', 'vit', 'gpt']);
    const vit = summary.rows[1]!;
    // Final eval losses: adam 1.1·(0.4, 0.5), sgd 1.1·(1.0, 1.1).
    expect(vit.referenceLoss).toBeCloseTo(1.1 * 0.45, 12);
    expect(vit.comparedLoss).toBeCloseTo(1.1 * 1.05, 12);
    expect(vit.ratio).toBeCloseTo(1.05 / 0.45, 12);
    expect(vit.x).toBeCloseTo(0.155, 12);
    expect(vit.xSd).toBeCloseTo(Math.SQRT1_2 * 0.01, 12);
    // Target: sgd's final mean loss; adam's mean curve 1.1·(2.05, 1.05, 0.45) reaches it at step 10.
    expect(vit.target).toBeCloseTo(1.1 * 1.05, 12);
    expect([vit.referenceSteps, vit.comparedSteps, vit.speedup]).toEqual([10, 20, 2]);
    expect(summary.ratio.rho).toBeCloseTo(1, 12);
    expect(summary.ratio.pValue).toBeCloseTo(2 / 6, 12);
    expect(summary.ratio.interval!.hi).toBeCloseTo(1, 12);
  });

  it('writes optimizer-gap.json and .csv, and its section appears in report.html', async () => {
    const registry = register(createRegistry());
    const dir = mkdtempSync(join(tmpdir(), 'tdx-gap-'));
    const spec = {
      ...data.spec,
      reporters: [{ name: 'html' }, { name: 'optimizer-gap', resamples: 300 }],
    };
    const there = { ...data, dir, spec };
    const gap = registry.create<ReporterInstance>('reporter', { name: 'optimizer-gap' });
    const files = await gap.report(there, { registry });
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      'optimizer-gap.json',
      'optimizer-gap.csv',
    ]);
    const csv = readFileSync(join(dir, 'optimizer-gap.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'model,x,x_sd,seeds,reference,reference_tune,reference_loss,compared,compared_tune,compared_loss,loss_ratio,target_loss,reference_steps,compared_steps,steps_ratio',
    );
    expect(csv).toHaveLength(4);
    const html = registry.create<ReporterInstance>('reporter', { name: 'html' });
    const written = await html.report(there, { registry });
    const page = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(page).toContain('<h2>Gap: sgd against adam, by js</h2>');
    expect(page).toMatch(
      /Spearman’s ρ between js at step 0 and the loss ratio over 3 models = 1\.00/,
    );
    expect(written).toContain(join(dir, 'figures', 'optimizer-gap-loss.svg'));
  });

  it('does nothing without two models that have both optimizers', async () => {
    const one = experiment(threeModels().filter((r) => r.model === 'cnn'));
    expect(optimizerGap(one, optimizerGapConfig.parse({}))).toBeUndefined();
    const registry = register(createRegistry());
    const gap = registry.create<ReporterInstance>('reporter', { name: 'optimizer-gap' });
    expect(await gap.report(one, { registry })).toEqual([]);
    expect(gap.section!(one, { registry })).toBeUndefined();
  });
});
