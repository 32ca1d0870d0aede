/**
 * The `relu` and `mlp` covariates of icl-linear-regression (Ahn et al.'s nonlinear modes): the
 * labels recomputed in float64 from the returned covariates and the sampled net, written out
 * here independently of the sampler; for `mlp`, the task w recovered by least squares from the
 * context and checked on the query; the net's initialisation against its distribution.
 */
import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Registry, TdxError } from '@tdx/core';
import { Rng, tf, useBackend, type Dataset } from '@tdx/tensor';
import { iclMlpNet, register, sampleIclPrompts, type ReluNet } from '../src/index.js';

const registry = register(Registry.create());
const dataset = (config: Record<string, unknown>, seed = 0): Dataset =>
  registry.create<Dataset>('dataset', { name: 'icl-linear-regression', ...config }, { seed });

/** net(x) by the formula W_outᵀ max(0, W_inᵀ x + b_in) + b_out, row-major weights. */
function reference(net: ReluNet, x: number[]): number[] {
  const { inputs, hidden, outputs } = net;
  const h = Array.from({ length: hidden }, (_, k) => {
    let s = net.inBias[k]!;
    for (let a = 0; a < inputs; a++) s += x[a]! * net.inWeight[a * hidden + k]!;
    return Math.max(0, s);
  });
  return Array.from({ length: outputs }, (_, c) =>
    h.reduce((s, v, k) => s + v * net.outWeight[k * outputs + c]!, net.outBias[c]!),
  );
}

/** Prompts as rows of tokens: covariates and the label (the target for the query). */
function prompts(tokens: Float32Array, targets: Float32Array, d: number, n: number) {
  return Array.from(targets, (target, b) =>
    Array.from({ length: n + 1 }, (_, i) => {
      const at = (b * (n + 1) + i) * (d + 1);
      const x = Array.from(tokens.subarray(at, at + d));
      return { x, y: i < n ? tokens[at + d]! : target, slot: tokens[at + d]! };
    }),
  );
}

/** Least-squares w from the context pairs (y_i = <w, g(x_i)>), and the largest residual. */
function fitTask(net: ReluNet, prompt: { x: number[]; y: number }[]) {
  const context = prompt.slice(0, -1);
  const F = new Matrix(context.map((t) => reference(net, t.x)));
  const y = Matrix.columnVector(context.map((t) => t.y));
  const w = solve(F, y).to1DArray();
  const residual = Math.max(
    ...context.map((t) =>
      Math.abs(reference(net, t.x).reduce((s, f, k) => s + f * w[k]!, 0) - t.y),
    ),
  );
  return { w, residual };
}

describe('icl-linear-regression, relu and mlp covariates', () => {
  it('relu: every label, context and query, is the sampled net of its covariates, one net per batch', () => {
    const d = 3;
    const n = 4;
    const { tokens, targets, net } = sampleIclPrompts(new Rng(11), { d, n, covariates: 'relu' }, 6);
    expect(net).not.toBeNull();
    expect([net!.inputs, net!.hidden, net!.outputs]).toEqual([d, d, 1]); // hidden_dim = d
    let positive = 0;
    for (const prompt of prompts(tokens, targets, d, n)) {
      expect(prompt[n]!.slot).toBe(0);
      for (const token of prompt) {
        const y = reference(net!, token.x)[0]!;
        expect(Math.abs(token.y - y)).toBeLessThan(1e-6 * Math.max(1, Math.abs(y)));
      }
    }
    // Not a degenerate net: some hidden unit is active on most prompts.
    for (const prompt of prompts(tokens, targets, d, n))
      if (prompt.some((t) => reference(net!, t.x)[0] !== net!.outBias[0])) positive++;
    expect(positive).toBeGreaterThan(3);
    // Another batch draws another net.
    const other = sampleIclPrompts(new Rng(12), { d, n, covariates: 'relu' }, 1).net!;
    expect(other.inWeight).not.toEqual(net!.inWeight);
  });

  it("relu: weights N(0, 0.1²) (or netWeightStd), torch's uniform biases, width netHidden", () => {
    const net = sampleIclPrompts(
      new Rng(3),
      { d: 5, n: 2, covariates: 'relu', netHidden: 4000 },
      1,
    ).net!;
    expect(net.hidden).toBe(4000);
    const std = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    // 20,000 draws: the sample std is within 1% of 0.1 at about 2 standard errors.
    expect(Math.abs(std(net.inWeight) - 0.1)).toBeLessThan(0.002);
    expect(Math.abs(std(net.outWeight) - 0.1)).toBeLessThan(0.004);
    expect(Math.max(...net.inBias.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(5));
    expect(Math.max(...net.inBias.map(Math.abs))).toBeGreaterThan(0.99 / Math.sqrt(5));
    expect(Math.abs(net.outBias[0]!)).toBeLessThanOrEqual(1 / Math.sqrt(4000));
    const wide = sampleIclPrompts(
      new Rng(3),
      { d: 5, n: 2, covariates: 'relu', netHidden: 4000, netWeightStd: 0.5 },
      1,
    ).net!;
    expect(Math.abs(std(wide.inWeight) - 0.5)).toBeLessThan(0.01);
  });

  it('mlp: labels are <w, g(x)> for one w per prompt; the query target follows the context', () => {
    const d = 3;
    const n = 7;
    const { tokens, targets, net } = sampleIclPrompts(
      new Rng(21),
      { d, n, covariates: 'mlp', netHidden: 4 },
      8,
    );
    expect([net!.inputs, net!.hidden, net!.outputs]).toEqual([d, 4, d]);
    // torch's default init: every weight within ±1/√fan_in.
    expect(Math.max(...net!.inWeight.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(d));
    expect(Math.max(...net!.outWeight.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(4));
    for (const prompt of prompts(tokens, targets, d, n)) {
      const { w, residual } = fitTask(net!, prompt);
      expect(residual).toBeLessThan(1e-5);
      const query = prompt[n]!;
      const predicted = reference(net!, query.x).reduce((s, f, k) => s + f * w[k]!, 0);
      expect(Math.abs(predicted - query.y)).toBeLessThan(1e-4);
      expect(query.slot).toBe(0);
    }
  });

  it("mlp: the dataset's batches and evaluation batch share the run's net; the net follows the data seed", async () => {
    await useBackend('cpu');
    const d = 3;
    const n = 6;
    const config = { d, n, covariates: 'mlp', netHidden: 5, batchSize: 4, evalBatchSize: 4 };
    const data = dataset({ ...config, seed: 7, evalSeed: 99 });
    const net = iclMlpNet(new Rng(7), { d, n, netHidden: 5 });
    const residuals = (seedNet: ReluNet, which: 'train' | 'eval') =>
      tf.tidy(() => {
        const batch = which === 'train' ? data.batch(3) : data.evalBatch!();
        const all = prompts(
          batch.inputs.dataSync() as Float32Array,
          batch.targets.dataSync() as Float32Array,
          d,
          n,
        );
        return Math.max(...all.map((p) => fitTask(seedNet, p).residual));
      });
    expect(residuals(net, 'train')).toBeLessThan(1e-5);
    expect(residuals(net, 'eval')).toBeLessThan(1e-5);
    // Teeth: the net of another data seed does not fit these labels.
    expect(residuals(iclMlpNet(new Rng(8), { d, n, netHidden: 5 }), 'train')).toBeGreaterThan(1e-2);
    expect(data.info.meta).toMatchObject({ covariates: 'mlp', netHidden: 5 });
    data.dispose?.();
  });

  it('rejects a covariance with relu or mlp, and net options with the other covariates', () => {
    const message = (make: () => unknown): string => {
      try {
        make();
      } catch (e) {
        expect(e).toBeInstanceOf(TdxError);
        return (e as TdxError).format();
      }
      throw new Error('expected an error');
    };
    expect(
      message(() => dataset({ d: 2, covariates: 'relu', covariance: { scales: [1, 2] } })),
    ).toMatch(/covariance: covariates 'relu' take x ~ N\(0, I\)/);
    expect(message(() => dataset({ d: 2, covariates: 'normal', netHidden: 3 }))).toMatch(
      /netHidden: applies only to covariates 'relu' or 'mlp'/,
    );
    expect(() =>
      sampleIclPrompts(
        new Rng(1),
        { d: 2, n: 3, covariates: 'mlp', covariance: { scales: [1, 1] } },
        1,
      ),
    ).toThrow(TdxError);
  });
});
