/**
 * Curvature operators and analyses on a small network whose dense Hessian is built from exact
 * HVPs and eigendecomposed by ml-matrix: the reference every result is compared with.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type AnalysisInstance } from '@tdx/core';
import { Rng, tf, useBackend, exactnessBackends } from '@tdx/tensor';
import {
  blockOperators,
  denseMatrix,
  hessianOperator,
  register,
  subBlockCoordinates,
} from '../src/index.js';
import { smallNetwork } from './small-network.js';
import { twoBlockQuadratic } from './two-block-quadratic.js';

const toMatrix = (columns: Float64Array[]) => new Matrix(columns.map((c) => Array.from(c)));
const eigenvalues = (m: Matrix) =>
  new EigenvalueDecomposition(Matrix.add(m, m.transpose()).div(2), { assumeSymmetric: true })
    .realEigenvalues;
const principal = (m: Matrix, idx: number[]) =>
  new Matrix(idx.map((i) => idx.map((j) => m.get(i, j))));

for (const backend of exactnessBackends()) {
  describe(`curvature on a small network [${backend}]`, () => {
    let net: ReturnType<typeof smallNetwork>;
    let H: Matrix;
    beforeAll(async () => {
      await useBackend(backend);
      net = smallNetwork(1);
      H = toMatrix(denseMatrix(hessianOperator(net.lossOn, net.params, [net.evalBatch])));
    });
    afterAll(() => net.dispose());

    it('gives each block the principal sub-matrix H_bb, and sub-blocks theirs', () => {
      const ops = blockOperators(net.lossOn, net.params, [net.evalBatch], {
        select: 'each',
        exclude: [],
        split: { split: 'none' },
      });
      expect(ops.map((o) => [o.name, o.dimension])).toEqual([
        ['layer.weight', 24],
        ['layer.bias', 6],
        ['head.weight', 12],
      ]);
      const offsets = [0, 24, 30];
      ops.forEach((op, b) => {
        const idx = Array.from({ length: op.dimension }, (_, i) => offsets[b]! + i);
        const block = toMatrix(denseMatrix(op));
        expect(Matrix.sub(block, principal(H, idx)).max()).toBeLessThan(1e-4 * H.max());
      });
      // Per head: the weight's 6 columns in 3 groups of 2, as an attention projection is cut.
      const heads = blockOperators(net.lossOn, net.params, [net.evalBatch], {
        select: [{ name: 'layer.weight' }],
        exclude: [],
        split: { split: 'heads', heads: 3 },
      });
      expect(heads.map((h) => h.name)).toEqual([
        'layer.weight head 0',
        'layer.weight head 1',
        'layer.weight head 2',
      ]);
      // Excluding every role leaves nothing: an error that lists the blocks, not an empty result.
      const roles = [...new Set(net.params.blocks.map((b) => b.role))];
      expect(() =>
        blockOperators(net.lossOn, net.params, [net.evalBatch], {
          select: 'each',
          exclude: roles,
          split: { split: 'none' },
        }),
      ).toThrow(/no trainable block is left/);
      const coords = subBlockCoordinates([4, 6], { split: 'heads', heads: 3 });

      expect(Array.from(coords[1]!.coordinates)).toEqual([2, 3, 8, 9, 14, 15, 20, 21]);
      const head1 = toMatrix(denseMatrix(heads[1]!));
      expect(
        Matrix.sub(head1, principal(H, Array.from(coords[1]!.coordinates)))
          .abs()
          .max(),
      ).toBeLessThan(1e-4 * H.max());
    });

    it('averages (or sums) the Hessians of several batches', () => {
      const second = net.batch(5);
      const H2 = toMatrix(denseMatrix(hessianOperator(net.lossOn, net.params, [second])));
      const mean = toMatrix(
        denseMatrix(hessianOperator(net.lossOn, net.params, [net.evalBatch, second])),
      );
      const sum = toMatrix(
        denseMatrix(
          hessianOperator(net.lossOn, net.params, [net.evalBatch, second], { aggregate: 'sum' }),
        ),
      );
      expect(Matrix.sub(mean, Matrix.add(H, H2).div(2)).abs().max()).toBeLessThan(1e-5 * H.max());
      expect(Matrix.sub(sum, Matrix.add(H, H2)).abs().max()).toBeLessThan(1e-5 * H.max());
      tf.dispose([second.inputs, second.targets]);
    });

    it('hessian-spectrum: SLQ agrees with the exact eigendecomposition', async () => {
      const exact = eigenvalues(H);
      const analysis = register(createRegistry()).create<AnalysisInstance>('analysis', {
        name: 'hessian-spectrum',
        probes: 20,
        steps: 42,
        start: 'rademacher',
      });
      const out = await analysis.run(net.target, { step: 0, seed: 3 });
      const spectra = out.data!.spectra as Array<{
        name: string;
        quadratures: Array<{ nodes: number[]; weights: number[] }>;
        density: number[];
        grid: { step: number };
      }>;
      expect(spectra.map((s) => s.name)).toEqual(['H']);
      expect(out.value).toBeCloseTo(Math.max(...exact), 4);
      for (const t of [-0.01, 0, 0.01, 0.05, 0.2]) {
        const cdf = exact.filter((x) => x <= t).length / exact.length;
        const slq =
          spectra[0]!.quadratures.reduce(
            (s, q) => s + q.nodes.reduce((a, x, j) => a + (x <= t ? q.weights[j]! : 0), 0),
            0,
          ) / 20;
        expect(Math.abs(slq - cdf)).toBeLessThan(0.12);
      }
      expect(spectra[0]!.density.reduce((s, x) => s + x, 0) * spectra[0]!.grid.step).toBeCloseTo(
        1,
        3,
      );
      expect(out.data!.settings).toMatchObject({
        probes: 20,
        steps: 42,
        start: 'rademacher',
        reorthogonalize: true,
      });
    });

    it('top-hessian-eigenvalues and hessian-trace agree with the exact eigenvalues', async () => {
      const exact = [...eigenvalues(H)].sort((a, b) => b - a);
      const registry = register(createRegistry());
      const top = await registry
        .create<AnalysisInstance>('analysis', { name: 'top-hessian-eigenvalues', k: 3 })
        .run(net.target, { step: 0, seed: 1 });
      (top.data!.eigenvalues as number[]).forEach((v, i) =>
        expect(Math.abs(v - exact[i]!)).toBeLessThan(1e-5 * exact[0]!),
      );
      const trace = await registry
        .create<AnalysisInstance>('analysis', { name: 'hessian-trace', probes: 200 })
        .run(net.target, { step: 0, seed: 1 });
      const exactTrace = exact.reduce((s, x) => s + x, 0);
      expect(Math.abs(trace.value! - exactTrace)).toBeLessThan(
        4 * (trace.data!.standardError as number),
      );
    });
  });
}

describe('block-heterogeneity', () => {
  it('is near ln 2 for blocks with disjoint spectra and near 0 for blocks with the same spectrum', async () => {
    await useBackend('cpu');
    const rng = new Rng(5);
    const bulk = (lo: number, hi: number) => Array.from(rng.uniformArray(30, lo, hi));
    const analysis = register(createRegistry()).create<AnalysisInstance>('analysis', {
      name: 'block-heterogeneity',
      probes: 10,
      steps: 30,
      exclude: [],
    });
    const heterogeneous = twoBlockQuadratic(bulk(1, 2), bulk(100, 200));
    const far = await analysis.run(heterogeneous.target, { step: 0, seed: 1 });
    expect(far.value!).toBeGreaterThan(0.69);
    expect(far.value!).toBeLessThanOrEqual(Math.LN2 + 1e-12);
    const spectrum = bulk(1, 100);
    const homogeneous = twoBlockQuadratic(spectrum, spectrum);
    const near = await analysis.run(homogeneous.target, { step: 0, seed: 1 });
    expect(near.value!).toBeLessThan(0.05);
    expect(near.data).toMatchObject({ names: ['a', 'b'], mode: 'probability' });
    const figures = analysis.figures!([
      {
        run: { id: 'r', label: 'r', group: 'r', seed: 0, model: 'm', optimizer: 'o', sweep: {} },
        file: {
          analysis: 'block-heterogeneity',
          label: 'block-heterogeneity',
          config: {},
          records: [{ step: 0, value: far.value!, ...far.data }],
        },
      },
    ]);
    expect(figures.map((f) => f.kind)).toEqual(['heatmap', 'density']);
    heterogeneous.dispose();
    homogeneous.dispose();
  });

  it('rejects split: heads without a number of heads, at the path', () => {
    const { problems } = register(createRegistry()).check(
      'analysis',
      { name: 'block-heterogeneity', split: 'heads' },
      'analyses[0]',
    );
    expect(problems).toEqual(
      [
        {
          path: 'analyses[0].heads',
          message: 'split: heads needs heads: <number of heads>',
          value: undefined,
        },
      ].map(({ value: _v, ...p }) => p),
    );
  });
});
