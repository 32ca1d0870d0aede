/**
 * The loss-landscape analysis on both backends, against independent references:
 * - filter normalisation is invariant to the ReLU rescaling of hidden units (and whole layers),
 *   where layer normalisation and raw directions are not;
 * - on a quadratic f(w) = ½wᵀAw + bᵀw + c with known eigenpairs, slices along a random
 *   direction (rebuilt here from its documented seed) equal f(w + td) computed in float64, and
 *   the Hessian directions are A's top eigenvectors: the slices are f + (g·v)t + λt²/2;
 * - interpolation towards the step-0 parameters and towards another run's checkpoint;
 * - the parameters are untouched bit for bit, no tensor is left behind, and the parts of a
 *   grid computed elsewhere give the same record.
 *
 * Tolerances: the losses are float32 sums of O(10) terms, so 2e-5 relative (plus 2e-5 absolute)
 * against float64; rescaled networks agree to about 1e-6 relative (float32 rounding of c·w).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRegistry,
  deriveSeed,
  writeCheckpoint,
  type AnalysisInstance,
  type AnalysisOutput,
} from '@tdx/core';
import { Rng, tf, useBackend, type AnalysisTarget, exactnessBackends } from '@tdx/tensor';
import { lossLandscapePlugin } from '../src/plugins/loss-landscape.js';
import type { SurfaceCurvature } from '../src/landscape/surface-curvature.js';
import { QUADRATIC_EIGENVALUES, quadratic, reluNet } from './loss-landscape-nets.js';

const analysis = (config: Record<string, unknown>) =>
  createRegistry()
    .register(lossLandscapePlugin)
    .create<AnalysisInstance>('analysis', { name: 'loss-landscape', ...config });

const bytes = (a: Float32Array) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

type Grid = Array<Array<number | null>>;
interface Axis {
  kind: string;
  values: number[];
  norm: number;
  eigenvalue?: number;
  residual?: number;
  blocks?: Array<{ name: string; treatment: string; weightNorm: number; directionNorm: number }>;
  endpoint?: Record<string, unknown>;
}
const dataOf = (out: AnalysisOutput) =>
  out.data as {
    losses: Grid | Array<number | null>;
    axes: Axis[];
    centre: number;
    cosine?: number;
    reason?: string;
    minimum?: { loss: number; coordinates: number[] };
    curvature?: SurfaceCurvature;
    settings: Record<string, unknown>;
  };

/** The largest |a − b| / max(|a|, |b|) over two grids. */
function maxRelativeDifference(a: Grid, b: Grid): number {
  let worst = 0;
  a.forEach((row, i) =>
    row.forEach((x, j) => {
      const y = b[i]![j]!;
      worst = Math.max(worst, Math.abs(x! - y) / Math.max(Math.abs(x!), Math.abs(y), 1e-12));
    }),
  );
  return worst;
}

const close = (actual: number, expected: number, relative = 2e-5) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(relative * Math.abs(expected) + 2e-5);

for (const backend of exactnessBackends()) {
  describe(`loss landscape [${backend}]`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    describe('filter normalisation and rescaled ReLU units', () => {
      // Hidden unit j: its column of W₁ and its bias times c_j, its row of W₂ over c_j.
      const unitScales = [0.2, 3, 1, 5, 0.5, 2];
      const grid = async (
        options: Parameters<typeof reluNet>[1],
        config: Record<string, unknown>,
      ): Promise<{ grid: Grid; centre: number }> => {
        const net = reluNet(1, options);
        try {
          const out = await analysis({ points: 7, seed: 5, ...config }).run(net.target, {
            step: 0,
            seed: 1,
          });
          return { grid: dataOf(out).losses as Grid, centre: out.value! };
        } finally {
          net.dispose();
        }
      };

      it('leaves the filter-normalised landscape over the rescaled layer unchanged; layer and none change it', async () => {
        // W₂ frozen: the directions move W₁ and b₁, whose filters (units) carry the scales.
        const differences: Record<string, number> = {};
        for (const normalization of ['filter', 'layer', 'none']) {
          for (const oneDimensional of ['zero', 'filter', 'weights', 'keep']) {
            const config = { normalization, oneDimensional };
            const plain = await grid({ freezeHead: true }, config);
            const scaled = await grid({ freezeHead: true, unitScales }, config);
            // The same function: the centre losses agree.
            close(scaled.centre, plain.centre, 1e-6);
            differences[`${normalization}/${oneDimensional}`] = maxRelativeDifference(
              plain.grid,
              scaled.grid,
            );
          }
        }
        for (const o of ['zero', 'filter', 'weights'])
          expect(differences[`filter/${o}`]).toBeLessThan(1e-5);
        // The raw draw on the biases does not follow the units' scales.
        expect(differences['filter/keep']).toBeGreaterThan(1e-2);
        for (const o of ['zero', 'filter', 'weights', 'keep']) {
          expect(differences[`layer/${o}`]).toBeGreaterThan(1e-2);
          expect(differences[`none/${o}`]).toBeGreaterThan(1e-2);
        }
      });

      it('with every layer trainable, a whole layer rescaled (W₁, b₁ × 3, W₂ / 3): filter and layer unchanged, none changed', async () => {
        const three = new Array(6).fill(3);
        for (const [normalization, invariant] of [
          ['filter', true],
          ['layer', true],
          ['none', false],
        ] as const) {
          const plain = await grid({}, { normalization });
          const scaled = await grid({ unitScales: three }, { normalization });
          const difference = maxRelativeDifference(plain.grid, scaled.grid);
          if (invariant) expect(difference).toBeLessThan(1e-5);
          else expect(difference).toBeGreaterThan(1e-2);
        }
      });
    });

    describe('on a quadratic with known eigenpairs', () => {
      let q: ReturnType<typeof quadratic>;
      let w: Float64Array;
      beforeAll(() => {
        q = quadratic(4);
        w = Float64Array.from(q.params.flatten());
      });
      afterAll(() => q.dispose());

      it('a random slice equals f(w + t d), d rebuilt from its seed and filter-normalised here', async () => {
        const out = await analysis({ directions: ['random'], points: 11, seed: 9 }).run(q.target, {
          step: 0,
          seed: 1,
        });
        // The documented draw: Rng(deriveSeed(seed, 'loss-landscape', 'random', 0)), blocks in
        // order; the vector block [5] is 1-D (left still by default), the [2, 3] block's
        // columns are its filters.
        const r = new Rng(deriveSeed(9, 'loss-landscape', 'random', 0)).normalArray(11);
        const d = new Float64Array(11);
        for (let j = 0; j < 3; j++) {
          const at = [0, 1].map((i) => 5 + 3 * i + j);
          const rn = Math.hypot(...at.map((k) => r[k]!));
          const wn = Math.hypot(...at.map((k) => w[k]!));
          for (const k of at) d[k] = (r[k]! * wn) / rn;
        }
        const data = dataOf(out);
        expect(data.axes[0]!.blocks!.map((b) => b.treatment)).toEqual(['zero', 'filter']);
        close(data.axes[0]!.norm, Math.hypot(...d), 1e-12);
        const ts = data.axes[0]!.values;
        expect(ts).toEqual(Array.from({ length: 11 }, (_, i) => -1 + (2 * i) / 10));
        (data.losses as number[]).forEach((loss, k) =>
          close(loss, q.f(w.map((x, i) => x + ts[k]! * d[i]!))),
        );
        close(out.value!, q.f(w));
        expect(data.centre).toBe(out.value);
      });

      it('Hessian directions are the top eigenvectors: the slice is f + (g·v)t + λt²/2', async () => {
        const out = await analysis({ directions: ['hessian'], points: 21, lanczosSteps: 11 }).run(
          q.target,
          { step: 0, seed: 2 },
        );
        const data = dataOf(out);
        const axis = data.axes[0]!;
        close(axis.eigenvalue!, QUADRATIC_EIGENVALUES[0]!, 1e-5);
        expect(axis.residual!).toBeLessThan(1e-4);
        expect(axis.norm).toBe(1);
        const g = q.gradient(w);
        const gv = q.vectors[0]!.reduce((s, x, i) => s + x * g[i]!, 0);
        // Up to sign: the analysis's vector is ±v.
        const along = (sign: number) =>
          axis.values.map((t) => q.f(w) + sign * gv * t + (QUADRATIC_EIGENVALUES[0]! * t * t) / 2);
        const losses = data.losses as number[];
        const error = (sign: number) =>
          Math.max(...along(sign).map((x, k) => Math.abs(x - losses[k]!)));
        const sign = error(1) < error(-1) ? 1 : -1;
        expect(Math.abs(gv)).toBeGreaterThan(0.1); // the two signs are told apart
        along(sign).forEach((x, k) => close(losses[k]!, x, 1e-5));
      });

      it('two Hessian directions: the grid is f + g₁a + g₂b + (λ₁a² + λ₂b²)/2', async () => {
        const out = await analysis({
          directions: ['hessian', 'hessian'],
          points: 9,
          range: [
            [-1, 1],
            [-2, 2],
          ],
          lanczosSteps: 11,
        }).run(q.target, { step: 0, seed: 3 });
        const data = dataOf(out);
        const [l1, l2] = QUADRATIC_EIGENVALUES as [number, number];
        close(data.axes[0]!.eigenvalue!, l1, 1e-5);
        close(data.axes[1]!.eigenvalue!, l2, 1e-5);
        expect(Math.abs(data.cosine!)).toBeLessThan(1e-6);
        const g = q.gradient(w);
        const [g1, g2] = [0, 1].map((k) => q.vectors[k]!.reduce((s, x, i) => s + x * g[i]!, 0));
        const [a, b] = [data.axes[0]!.values, data.axes[1]!.values];
        expect(b).toEqual([-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2]);
        const grid = data.losses as Grid;
        let best = Infinity;
        for (const s1 of [1, -1])
          for (const s2 of [1, -1]) {
            let worst = 0;
            grid.forEach((row, i) =>
              row.forEach((loss, j) => {
                const x = a[j]!;
                const y = b[i]!;
                const expected =
                  q.f(w) + s1 * g1! * x + s2 * g2! * y + (l1 * x * x + l2 * y * y) / 2;
                worst = Math.max(worst, Math.abs(loss! - expected) / (Math.abs(expected) + 1));
              }),
            );
            best = Math.min(best, worst);
          }
        expect(best).toBeLessThan(2e-5);
        // The lowest point found is a grid point, with its loss.
        const flat = grid.flat() as number[];
        expect(data.minimum!.loss).toBe(Math.min(...flat));
        // The surface's own curvature: diag(λ₁, λ₂) at every interior point, convex.
        const curvature = data.curvature!;
        expect(curvature.points).toBe(7 * 7);
        expect(curvature.convexFraction).toBe(1);
        expect(curvature.nonConvexity!.max).toBe(0);
        close(curvature.maxCurvature, l1, 1e-3);
        close(curvature.minCurvature, l2, 1e-3);
      });

      it('interpolates towards the step-0 parameters it recorded', async () => {
        const instance = analysis({ directions: ['initial'], points: 5 });
        const atStart = await instance.run(q.target, { step: 0, seed: 0 });
        expect(dataOf(atStart).reason).toMatch(/step 0/);
        expect(dataOf(atStart)).not.toHaveProperty('losses');
        close(atStart.value!, q.f(w));

        const w0 = q.params.flatten();
        const moved = new Rng(12).normalArray(11).map((x, i) => w0[i]! + 0.5 * x);
        q.params.assign(moved);
        try {
          const w1 = Float64Array.from(q.params.flatten());
          const out = await instance.run({ ...q.target, step: 5 } as AnalysisTarget, {
            step: 5,
            seed: 0,
          });
          const data = dataOf(out);
          expect(data.axes[0]!.values).toEqual([-0.5, 0, 0.5, 1, 1.5]);
          expect(data.axes[0]!.endpoint).toEqual({ kind: 'initial', step: 0 });
          close(data.axes[0]!.norm, Math.hypot(...w1.map((x, i) => w0[i]! - x)), 1e-12);
          (data.losses as number[]).forEach((loss, k) => {
            const t = data.axes[0]!.values[k]!;
            close(loss, q.f(w1.map((x, i) => x + t * (w0[i]! - x))));
          });
          close((data.losses as number[])[3]!, q.f(w0)); // t = 1: back at the start
        } finally {
          q.params.assign(w0);
        }
      });

      it('says to schedule step 0 when it never saw the initial parameters', async () => {
        const run = () =>
          analysis({ directions: ['initial'] }).run(q.target, { step: 40, seed: 0 });
        await expect(Promise.resolve().then(run)).rejects.toThrow(/parameters of step 0/);
        await expect(Promise.resolve().then(run)).rejects.toMatchObject({
          hint: expect.stringMatching(/at: \[0/),
        });
      });

      describe('towards another run’s checkpoint', () => {
        let dir: string;
        beforeAll(() => {
          dir = mkdtempSync(join(tmpdir(), 'tdx-landscape-'));
        });
        afterAll(() => rmSync(dir, { recursive: true, force: true }));

        const saveRun = (
          name: string,
          arrays: Record<string, { shape: number[]; values: number[] }>,
        ) => {
          const runDir = join(dir, name);
          writeCheckpoint(runDir, {
            runId: `id-${name}`,
            step: 100,
            state: {},
            arrays: Object.fromEntries(
              Object.entries(arrays).map(([k, a]) => [
                `param:${k}`,
                { shape: a.shape, dtype: 'float32' as const, values: Float32Array.from(a.values) },
              ]),
            ),
          });
          writeFileSync(join(runDir, 'run.json'), JSON.stringify({ id: `id-${name}` }));
          return runDir;
        };

        it('slices the line to its parameters: t = 1 is the other run', async () => {
          const other = Float32Array.from(new Rng(13).normalArray(11));
          const runDir = saveRun('other', {
            'w.vector': { shape: [5], values: Array.from(other.subarray(0, 5)) },
            'w.matrix': { shape: [2, 3], values: Array.from(other.subarray(5)) },
          });
          const out = await analysis({
            directions: [{ run: runDir }],
            points: 3,
            range: [0, 1],
          }).run(q.target, { step: 7, seed: 0 });
          const data = dataOf(out);
          expect(data.axes[0]!.endpoint).toEqual({
            kind: 'run',
            path: runDir,
            runId: 'id-other',
            step: 100,
          });
          const losses = data.losses as number[];
          close(losses[0]!, q.f(w));
          close(losses[1]!, q.f(w.map((x, i) => x + 0.5 * (other[i]! - x))));
          close(losses[2]!, q.f(other));
        });

        it('names what is missing: the folder, a block, a shape', async () => {
          const run = (path: string) =>
            Promise.resolve().then(() =>
              analysis({ directions: [{ run: path }] }).run(q.target, { step: 1, seed: 0 }),
            );
          await expect(run(join(dir, 'nowhere'))).rejects.toThrow(/not a run folder/);
          const partial = saveRun('partial', {
            'w.vector': { shape: [5], values: [1, 2, 3, 4, 5] },
          });
          await expect(run(partial)).rejects.toThrow(/no parameter block "w.matrix"/);
          const wrong = saveRun('wrong', {
            'w.vector': { shape: [5], values: [1, 2, 3, 4, 5] },
            'w.matrix': { shape: [3, 2], values: [1, 2, 3, 4, 5, 6] },
          });
          await expect(run(wrong)).rejects.toThrow(/shape \[3,2\]/);
        });
      });
    });

    describe('side effects', () => {
      let net: ReturnType<typeof reluNet>;
      beforeAll(() => {
        net = reluNet(2);
      });
      afterAll(() => net.dispose());

      it('leaves the parameters bit for bit as they were and no tensor behind', async () => {
        const configs = [
          { points: 5 },
          { directions: ['hessian', 'random'], points: 4, lanczosSteps: 10 },
          { directions: ['random'], points: 6, normalization: 'layer' },
        ];
        // Warm up: backends create some tensors once.
        await analysis(configs[0]!).run(net.target, { step: 0, seed: 0 });
        const before = net.params.flatten();
        const tensors = tf.memory().numTensors;
        for (const config of configs) await analysis(config).run(net.target, { step: 0, seed: 0 });
        expect(tf.memory().numTensors).toBe(tensors);
        expect(bytes(net.params.flatten())).toEqual(bytes(before));
      });

      it('releases everything when the loss fails half-way through the grid', async () => {
        const before = net.params.flatten();
        const tensors = tf.memory().numTensors;
        let calls = 0;
        const failing = {
          ...net.target,
          lossOn: (b: unknown) => {
            const loss = net.target.lossOn(b as never);
            return (values: never) => {
              if (++calls > 10) throw new Error('loss failed');
              return loss(values);
            };
          },
        } as AnalysisTarget;
        await expect(
          Promise.resolve().then(() => analysis({ points: 5 }).run(failing, { step: 0, seed: 0 })),
        ).rejects.toThrow('loss failed');
        expect(tf.memory().numTensors).toBe(tensors);
        expect(bytes(net.params.flatten())).toEqual(bytes(before));
      });

      it('refuses directions that move nothing, saying how to move the 1-D blocks', async () => {
        net.params.freeze({ name: ['layer.weight', 'head.weight'] });
        try {
          await expect(
            Promise.resolve().then(() => analysis({}).run(net.target, { step: 0, seed: 0 })),
          ).rejects.toMatchObject({ hint: expect.stringMatching(/oneDimensional: filter/) });
          net.params.freeze();
          await expect(
            Promise.resolve().then(() => analysis({}).run(net.target, { step: 0, seed: 0 })),
          ).rejects.toThrow(/every parameter block is frozen/);
        } finally {
          net.params.unfreeze();
        }
      });
    });

    describe('in parts', () => {
      it('gives the same record from parts computed on another copy of the model', async () => {
        const run = reluNet(3);
        const worker = reluNet(3);
        // A worker starts at other parameters: everything must come from the shared JSON.
        worker.params.assign(new Rng(9).normalArray(worker.params.size));
        try {
          for (const config of [
            { points: 5, seed: 4 },
            { directions: ['hessian', 'random'], points: 4, lanczosSteps: 8, pointsPerPart: 3 },
          ]) {
            const instance = analysis(config);
            const ctx = { step: 2, seed: 21 };
            const whole = await instance.run(run.target, ctx);
            const plan = instance.parallel!.plan(run.target, ctx)!;
            expect(plan.parts).toBe(config.pointsPerPart ? Math.ceil(16 / 3) : 5);
            const shared = JSON.parse(JSON.stringify(plan.shared)) as unknown;
            const parts = Array.from({ length: plan.parts }, (_, i) =>
              JSON.parse(JSON.stringify(instance.parallel!.part(worker.target, ctx, i, shared))),
            );
            expect(instance.parallel!.combine(run.target, ctx, parts)).toEqual(whole);
          }
          // Without a fixed evaluation batch the batch depends on the step: no parts.
          const noEval = {
            ...run.target,
            dataset: { batch: run.target.dataset.batch },
          } as AnalysisTarget;
          expect(analysis({}).parallel!.plan(noEval, { step: 0, seed: 0 })).toBeUndefined();
        } finally {
          run.dispose();
          worker.dispose();
        }
      });
    });
  });
}
