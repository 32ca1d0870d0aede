/**
 * The quadratic dataset built from measured block spectra: the eigenvalues of each block of
 * the built H (ml-matrix's eigendecomposition) are the ones asked, inline or sampled from an
 * experiment folder's recorded SLQ quadratures (quantiles worked out by hand).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '@tdx/core';
import { useBackend, type Dataset } from '@tdx/tensor';
import {
  quadraticConfig,
  quadraticProblem,
  quantilesOfQuadratures,
  register,
  rescaleSpectra,
} from '../src/index.js';

beforeAll(() => useBackend('cpu'));

/** The sorted eigenvalues of each diagonal block of the built H, and the largest entry off them. */
function blocksOf(config: Record<string, unknown>) {
  const problem = quadraticProblem(quadraticConfig.parse(config), 3);
  const { H, n, blockSizes } = problem;
  let offset = 0;
  let outside = 0;
  const spectra = blockSizes.map((size) => {
    const block = new Matrix(
      Array.from({ length: size }, (_, i) =>
        Array.from({ length: size }, (_, j) => H[(offset + i) * n + offset + j]!),
      ),
    );
    for (let i = offset; i < offset + size; i++)
      for (let j = 0; j < n; j++)
        if (j < offset || j >= offset + size) outside = Math.max(outside, Math.abs(H[i * n + j]!));
    offset += size;
    return [...new EigenvalueDecomposition(block, { assumeSymmetric: true }).realEigenvalues].sort(
      (a, b) => a - b,
    );
  });
  return { problem, spectra, outside };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** An experiment folder with one run of model `gpt` that recorded a spectrum at step 0. */
function experimentFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'measured-spectra-'));
  const run = join(dir, 'gpt_adam-0');
  mkdirSync(join(run, 'analyses'), { recursive: true });
  writeFileSync(join(run, 'spec.json'), JSON.stringify({ seed: 0, model: { label: 'gpt' } }));
  writeFileSync(join(run, 'run.json'), JSON.stringify({ model: 'gpt', seed: 0 }));
  const q = (nodes: number[], weights: number[]) => ({ nodes, weights });
  writeFileSync(
    join(run, 'analyses', 'spectrum.json'),
    JSON.stringify({
      analysis: 'hessian-spectrum',
      label: 'spectrum',
      config: {},
      records: [
        {
          step: 0,
          spectra: [
            { name: 'H', quadratures: [q([0, 9], [0.5, 0.5])] },
            // Two probes: pooled, each node weighs 0.25.
            {
              name: 'a',
              quadratures: [
                q([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4]),
                q([1, 2, 3, 4], [0.4, 0.3, 0.2, 0.1]),
              ],
            },
            { name: 'b', quadratures: [q([-2, 8], [0.9, 0.1])] },
          ],
        },
      ],
    }),
  );
  return dir;
}

describe('quadratic from measured spectra', () => {
  let dir: string;
  beforeAll(() => {
    dir = experimentFolder();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds blocks with exactly the eigenvalues given inline', () => {
    const asked = [
      [1, 2, 2, 50],
      [0.5, 7, 9],
      [3000, 5000],
    ];
    const { problem, spectra, outside } = blocksOf({
      construction: 'measured',
      eigenvalues: asked,
      rescale: 'none',
    });
    expect(problem.blockSizes).toEqual([4, 3, 2]);
    expect(outside).toBe(0);
    spectra.forEach((computed, b) =>
      sorted(asked[b]!).forEach((x, i) => expect(computed[i]!).toBeCloseTo(x, 9)),
    );
  });

  it('maps measured eigenvalues onto [1, κ] by magnitude or by one affine map', () => {
    const raw = [
      [-2, 1],
      [0.5, 4],
    ];
    // |λ| · 100 / 4, at least 1.
    expect(rescaleSpectra(raw, 'magnitude', 100)).toEqual([
      [50, 25],
      [12.5, 100],
    ]);
    expect(rescaleSpectra([[0.001, 4]], 'magnitude', 100)).toEqual([[1, 100]]);
    // 1 + 99 (λ + 2) / 6.
    const affine = rescaleSpectra(raw, 'affine', 100);
    [
      [1, 50.5],
      [42.25, 100],
    ].forEach((b, i) => b.forEach((x, j) => expect(affine[i]![j]).toBeCloseTo(x, 12)));
    expect(() => rescaleSpectra(raw, 'none', 100)).toThrow(/positive eigenvalues/);
    const { spectra } = blocksOf({
      construction: 'measured',
      eigenvalues: raw,
      conditionNumber: 100,
      rescale: 'affine',
    });
    expect(spectra.flat().sort((a, b) => a - b)[0]).toBeCloseTo(1, 9);
    expect(Math.max(...spectra.flat())).toBeCloseTo(100, 9);
  });

  it('samples each block from the quantiles of its recorded SLQ measure', () => {
    // Nodes 1, 2, 3, 4 at 0.25 each; levels 0, 1/4, 1/2, 3/4, 1.
    const a = [
      { nodes: [1, 2, 3, 4], weights: [0.1, 0.2, 0.3, 0.4] },
      { nodes: [1, 2, 3, 4], weights: [0.4, 0.3, 0.2, 0.1] },
    ];
    expect(quantilesOfQuadratures(a, 5)).toEqual([1, 1, 2, 3, 4]);
    // The extremes are kept whatever their weight.
    expect(quantilesOfQuadratures([{ nodes: [-2, 8], weights: [0.9, 0.1] }], 3)).toEqual([
      -2, -2, 8,
    ]);

    const spectra = { experiment: dir, model: 'gpt', analysis: 'spectrum' };
    const built = blocksOf({
      construction: 'measured',
      spectra,
      blockSize: 5,
      rescale: 'affine',
      conditionNumber: 11,
    });
    // Blocks a and b (H left out): [1, 1, 2, 3, 4] and [-2, -2, -2, -2, 8]; 1 + (λ + 2).
    expect(built.problem.blockSizes).toEqual([5, 5]);
    const expected = [
      [4, 4, 5, 6, 7],
      [1, 1, 1, 1, 11],
    ];
    built.spectra.forEach((computed, b) =>
      expected[b]!.forEach((x, i) => expect(computed[i]!).toBeCloseTo(x, 9)),
    );
    const one = blocksOf({
      construction: 'measured',
      spectra: { ...spectra, blocks: ['b'] },
      blockSize: 3,
      conditionNumber: 8,
    });
    // Magnitude: |[-2, -2, 8]| · 8 / 8.
    expect(one.spectra).toHaveLength(1);
    [2, 2, 8].forEach((x, i) => expect(one.spectra[0]![i]!).toBeCloseTo(x, 9));
  });

  it('says what is missing: the model, the block, or the source', () => {
    const registry = register(createRegistry());
    const create = (spectra: Record<string, unknown>) =>
      registry.create<Dataset>(
        'dataset',
        {
          name: 'quadratic',
          construction: 'measured',
          spectra: { experiment: dir, analysis: 'spectrum', ...spectra },
        },
        { seed: 0 },
      );
    const failure = (spectra: Record<string, unknown>) => {
      try {
        create(spectra);
      } catch (error) {
        const e = error as { message: string; hint?: string };
        return `${e.message} | ${e.hint ?? ''}`;
      }
      return 'no error';
    };
    expect(failure({ model: 'cnn' })).toMatch(/no run of model "cnn".*models there: gpt/);
    expect(failure({ model: 'gpt', blocks: ['c'] })).toMatch(/no block "c".*blocks there: a, b/);
    expect(failure({ model: 'gpt', experiment: join(dir, 'not-run-yet') })).toMatch(
      /dataset\.spectra\.experiment: no experiment folder at .*not-run-yet \| run the spec that measures the spectra first .*full-vs-block-spectra/,
    );
    expect(
      registry.check('dataset', { name: 'quadratic', construction: 'measured' }, 'dataset')
        .problems,
    ).toEqual([
      expect.objectContaining({
        path: 'dataset.spectra',
        message:
          'construction: measured needs one of spectra: { experiment, model } or eigenvalues',
      }),
    ]);
  });
});
