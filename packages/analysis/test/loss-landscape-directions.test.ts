/**
 * The pieces of the loss landscape that run on the host: Li et al.'s normalisations (checked
 * against the definitions written out here), the Jacobi eigensolver and the Ritz vectors
 * (against ml-matrix's eigendecomposition), the figures and the config.
 */
import { describe, expect, it } from 'vitest';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { createRegistry, TdxError, type AnalysisFile, type RunIdentity } from '@tdx/core';
import { Rng } from '@tdx/tensor';
import { filterLayout, filterNorms } from '../src/landscape/filters.js';
import { normalizeBlockDirection, randomDirection } from '../src/landscape/random-direction.js';
import { topEigenvectors } from '../src/landscape/top-eigenvectors.js';
import { landscapeFigures, useLogScale } from '../src/landscape/figures.js';
import { lossLandscapePlugin } from '../src/plugins/loss-landscape.js';

const norm = (x: ArrayLike<number>) => Math.hypot(...Array.from(x));

describe('filters', () => {
  it('are the columns of a [in, out] matrix and the output channels of a flattened kernel', () => {
    // [3, 4]: entry (i, j) at 4i + j belongs to column j.
    const { filters, filterOf } = filterLayout([3, 4]);
    expect(filters).toBe(4);
    expect(Array.from({ length: 12 }, (_, i) => filterOf(i))).toEqual([
      0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3,
    ]);
    // The cnn's kernels [k·k·C_in, C_out] and any higher rank: the last axis.
    expect(filterLayout([9 * 2, 5]).filters).toBe(5);
    expect(filterLayout([2, 3, 7]).filters).toBe(7);
    expect(Array.from(filterNorms([3, 0, 4, 1], [2, 2]))).toEqual([5, 1]);
  });
});

describe('normalised random directions', () => {
  const rng = new Rng(3);
  const shape = [5, 3];
  const w = rng.normalArray(15);
  const r = rng.normalArray(15);
  const column = (x: ArrayLike<number>, j: number) => [0, 1, 2, 3, 4].map((i) => x[i * 3 + j]!);

  it('filter: each column has the norm of the weights’ column and the draw’s direction', () => {
    const { direction, treatment } = normalizeBlockDirection(r, w, shape, 'filter', 'zero');
    expect(treatment).toBe('filter');
    for (let j = 0; j < 3; j++) {
      const d = column(direction, j);
      expect(norm(d)).toBeCloseTo(norm(column(w, j)), 12);
      const s = norm(column(w, j)) / norm(column(r, j));
      column(r, j).forEach((x, i) => expect(d[i]).toBeCloseTo(x * s, 12));
    }
  });

  it('layer: the whole tensor has the weights’ norm; none: the draw itself', () => {
    const layer = normalizeBlockDirection(r, w, shape, 'layer', 'zero').direction;
    expect(norm(layer)).toBeCloseTo(norm(w), 12);
    r.forEach((x, i) => expect(layer[i]).toBeCloseTo((x * norm(w)) / norm(r), 12));
    expect(Array.from(normalizeBlockDirection(r, w, shape, 'none', 'zero').direction)).toEqual(
      Array.from(r),
    );
  });

  it('1-D blocks: zero, per-entry filters (sign(r)|w|), the draw, or the weights', () => {
    const b = Float64Array.from([0.5, -2, 0, 3]);
    const rb = Float64Array.from([-1.5, -0.1, 0.7, 2]);
    const as = (o: 'zero' | 'filter' | 'keep' | 'weights') =>
      Array.from(normalizeBlockDirection(rb, b, [4], 'filter', o).direction);
    expect(as('zero')).toEqual([0, 0, 0, 0]);
    expect(as('filter')).toEqual([-0.5, -2, 0, 3]);
    expect(as('keep')).toEqual(Array.from(rb));
    expect(as('weights')).toEqual(Array.from(b));
    // Under layer normalisation, `filter` means "like the others": the tensor as a whole.
    const layer = normalizeBlockDirection(rb, b, [4], 'layer', 'filter').direction;
    expect(norm(layer)).toBeCloseTo(norm(b), 12);
  });

  it('a zero filter gets a zero direction', () => {
    const zeroColumn = Float64Array.from(w).map((x, i) => (i % 3 === 1 ? 0 : x));
    const { direction } = normalizeBlockDirection(r, zeroColumn, shape, 'filter', 'zero');
    expect(column(direction, 1)).toEqual([0, 0, 0, 0, 0]);
  });

  it('draws one seeded stream over the blocks in order', () => {
    const blocks = [
      { name: 'a', shape: [2, 3], weights: new Float64Array(6).fill(1) },
      { name: 'b', shape: [3], weights: new Float64Array(3).fill(1) },
      { name: 'c', shape: [3, 2], weights: new Float64Array(6).fill(2) },
    ];
    const { vector, blocks: info } = randomDirection(blocks, {
      seed: 42,
      normalization: 'none',
      oneDimensional: 'keep',
    });
    expect(Array.from(vector)).toEqual(Array.from(new Rng(42).normalArray(15)));
    expect(info.map((b) => b.treatment)).toEqual(['none', 'keep', 'none']);
    const zeroed = randomDirection(blocks, {
      seed: 42,
      normalization: 'filter',
      oneDimensional: 'zero',
    });
    expect(Array.from(zeroed.vector.subarray(6, 9))).toEqual([0, 0, 0]);
    expect(zeroed.blocks.map((b) => b.treatment)).toEqual(['filter', 'zero', 'filter']);
    expect(zeroed.blocks[2]!.directionNorm).toBeCloseTo(norm(blocks[2]!.weights), 12);
  });
});

/** A random symmetric matrix and ml-matrix's eigendecomposition of it. */
function randomSymmetric(n: number, seed: number) {
  const rng = new Rng(seed);
  const G = rng.normalArray(n * n);
  const rows = Array.from({ length: n }, (_, i) =>
    Float64Array.from({ length: n }, (_, j) => G[i * n + j]! + G[j * n + i]!),
  );
  const reference = new EigenvalueDecomposition(new Matrix(rows.map((r) => Array.from(r))), {
    assumeSymmetric: true,
  });
  return { rows, reference };
}

describe('Ritz vectors', () => {
  it('are the top eigenvectors with small residuals (full Lanczos on a 30-dimensional operator)', () => {
    const n = 30;
    const { rows, reference } = randomSymmetric(n, 8);
    const apply = (v: Float64Array) =>
      Float64Array.from(rows, (row) => row.reduce((s, a, j) => s + a * v[j]!, 0));
    const { pairs, steps } = topEigenvectors(apply, n, { k: 2, steps: 30, seed: 1 });
    expect(steps).toBe(30);
    const sorted = reference.realEigenvalues
      .map((v, k) => [v, k] as const)
      .sort((a, b) => b[0] - a[0]);
    pairs.forEach((p, k) => {
      expect(p.value).toBeCloseTo(sorted[k]![0], 9);
      expect(p.residual).toBeLessThan(1e-8);
      expect(norm(p.vector)).toBeCloseTo(1, 12);
      const ref = reference.eigenvectorMatrix.getColumn(sorted[k]![1]);
      const cos = ref.reduce((s, x, i) => s + x * p.vector[i]!, 0);
      expect(Math.abs(cos)).toBeCloseTo(1, 9);
    });
    // By magnitude: the most negative eigenvalue of this matrix may come first.
    const byMagnitude = topEigenvectors(apply, n, { k: 1, steps: 30, which: 'magnitude' });
    const largest = Math.max(...reference.realEigenvalues.map(Math.abs));
    expect(Math.abs(byMagnitude.pairs[0]!.value)).toBeCloseTo(largest, 9);
  });

  it('refuses a basis too large for the host, with the steps that would fit', () => {
    expect(() => topEigenvectors((v) => v, 2 ** 24, { k: 1, steps: 40 })).toThrow(
      /lower lanczosSteps|GiB/,
    );
  });
});

describe('loss-landscape config', () => {
  const create = (config: Record<string, unknown>) =>
    createRegistry()
      .register(lossLandscapePlugin)
      .create('analysis', { name: 'loss-landscape', ...config });

  it('has defaults: two filter-normalised random directions, biases and norms left still', () => {
    expect(() => create({})).not.toThrow();
    const parsed = lossLandscapePlugin.config.parse({});
    expect(parsed).toMatchObject({
      directions: ['random', 'random'],
      normalization: 'filter',
      oneDimensional: 'zero',
      lanczosSteps: 40,
      which: 'largest',
      scale: 'auto',
    });
  });

  it('says what is wrong with a bad config', () => {
    const fails = (config: Record<string, unknown>, pattern: RegExp) => {
      let error: unknown;
      try {
        create(config);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TdxError);
      expect(
        String((error as Error).message) + JSON.stringify((error as TdxError).problems),
      ).toMatch(pattern);
    };
    fails({ directions: ['initial', 'initial'] }, /given twice/);
    fails(
      {
        directions: ['random'],
        range: [
          [-1, 1],
          [0, 2],
        ],
      },
      /2 ranges for 1 directions/,
    );
    fails({ range: [1, -1] }, /low < high/);
    fails({ directions: ['sideways'] }, /directions/);
    fails({ directions: ['random', 'random', 'random'] }, /directions/);
    fails({ normalization: 'filterwise' }, /normalization/);
    fails({ points: 1 }, /points/);
  });
});

describe('loss-landscape figures', () => {
  const run = { id: 'r', label: 'softmax' } as RunIdentity;
  const file = (records: AnalysisFile['records']): AnalysisFile =>
    ({ analysis: 'loss-landscape', label: 'landscape', config: {}, records }) as AnalysisFile;
  const axis = (kind: string, values: number[]) => ({
    kind,
    label: `${kind} direction`,
    values,
    norm: 2,
  });

  it('draws a slice as lines (one per step) and a grid as a contour and a surface', () => {
    const slices = file([
      { step: 0, value: 1, centre: 1, axes: [axis('random', [-1, 0, 1])], losses: [2, 1, 3] },
      {
        step: 9,
        value: 0.5,
        centre: 0.5,
        axes: [axis('random', [-1, 0, 1])],
        losses: [1, 0.5, null],
      },
    ]);
    const [lines] = landscapeFigures([{ run, file: slices }]);
    expect(lines).toMatchObject({ kind: 'lines', y: { label: 'loss', log: false } });
    if (lines?.kind !== 'lines') throw new Error('expected lines');
    expect(lines.series.map((s) => s.name)).toEqual(['step 0', 'step 9']);
    expect(lines.series[1]!.points).toEqual([
      { x: -1, y: 1 },
      { x: 0, y: 0.5 },
    ]);

    const grid = file([
      {
        step: 3,
        centre: 1,
        axes: [axis('hessian', [-1, 1]), axis('hessian', [0, 1, 2])],
        losses: [
          [1, 2],
          [3, 400],
          [5, null],
        ],
      },
    ]);
    const figures = landscapeFigures([{ run, file: grid }]);
    expect(figures.map((f) => f.kind)).toEqual(['contour', 'surface']);
    const [contour, surface] = figures;
    if (contour?.kind !== 'contour' || surface?.kind !== 'surface') throw new Error('kinds');
    expect(contour.x.values).toEqual([-1, 1]);
    expect(contour.y.values).toEqual([0, 1, 2]);
    expect(contour.z[2]![1]).toBeNaN();
    // 1 to 400: more than two decades, log by default.
    expect(contour.logLevels).toBe(true);
    expect(surface.logZ).toBe(true);
    expect(landscapeFigures([{ run, file: grid }], 'linear')[1]).not.toHaveProperty('logZ');
  });

  it('puts the runs’ last slices side by side', () => {
    const one = (label: string, losses: number[]) => ({
      run: { id: label, label } as RunIdentity,
      file: file([{ step: 5, centre: losses[1], axes: [axis('random', [-1, 0, 1])], losses }]),
    });
    const figures = landscapeFigures([one('softmax', [2, 1, 2]), one('gaussian', [3, 1, 3])]);
    expect(figures).toHaveLength(3);
    expect(figures[2]).toMatchObject({ kind: 'lines', id: 'landscape-runs' });
  });

  it('uses a log scale when losses span over two decades, all positive', () => {
    expect(useLogScale([0.01, 5], 'auto')).toBe(true);
    expect(useLogScale([0.1, 5], 'auto')).toBe(false);
    expect(useLogScale([-1, 500], 'auto')).toBe(false);
    expect(useLogScale([0.1, 5], 'log')).toBe(true);
  });
});
