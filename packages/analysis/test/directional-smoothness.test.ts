/**
 * Directional smoothness on the small tanh network (its bias frozen, so the update covers only
 * the trainable blocks), against references computed in float64 on the host from the network's
 * formula: S by the second central difference of the loss along û at w_{t−1}, the gradient
 * norm by central differences per coordinate, the loss directly.
 *
 * Step sizes and tolerances: in float64 the second difference (f(h) − 2f(0) + f(−h)) / h² has
 * truncation error h² f⁗ / 12 and rounding error about 4 ε |f| / h² (ε = 2.2e-16); h = 1e-3
 * balances them: about 6e-8 and 4e-10 relative to S here (checked below: halving h changes it
 * by 5e-8 relative, the h² term). The analysis's HVP runs in float32 (measured: 3e-8 to 5e-8
 * from the reference), so S is compared to 1e-5 relative; G (float32 autodiff against float64
 * central differences with h = 1e-6) to 1e-5; the loss to 1e-6.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type AnalysisInstance } from '@tdx/core';
import { Rng, tf, useBackend, type AnalysisTarget, exactnessBackends } from '@tdx/tensor';
import {
  directionalSmoothnessFigures,
  directionalSmoothnessPlugin,
} from '../src/plugins/directional-smoothness.js';
import { smallNetwork } from './small-network.js';

const [N, D, K, C] = [16, 4, 6, 2];

/**
 * The loss mean_{n,c} (tanh(XW + b)V − Y)² in float64, as a function of the trainable vector
 * [W (4×6, row-major), V (6×2)], the bias fixed.
 */
function hostLoss(net: ReturnType<typeof smallNetwork>): (w: ArrayLike<number>) => number {
  const X = Float64Array.from(net.evalBatch.inputs.dataSync());
  const Y = Float64Array.from(net.evalBatch.targets.dataSync());
  const b = Float64Array.from(net.params.block('layer.bias').variable.dataSync());
  return (w) => {
    let sum = 0;
    for (let n = 0; n < N; n++) {
      const a = new Float64Array(K);
      for (let k = 0; k < K; k++) {
        let z = b[k]!;
        for (let j = 0; j < D; j++) z += X[n * D + j]! * w[j * K + k]!;
        a[k] = Math.tanh(z);
      }
      for (let c = 0; c < C; c++) {
        let o = 0;
        for (let k = 0; k < K; k++) o += a[k]! * w[D * K + k * C + c]!;
        sum += (o - Y[n * C + c]!) ** 2;
      }
    }
    return sum / (N * C);
  };
}

/** (f(w + h u) − 2 f(w) + f(w − h u)) / h²: d²/ds² f(w + s u) at 0, in float64. */
function secondDifference(
  f: (w: ArrayLike<number>) => number,
  w: Float64Array,
  u: Float64Array,
  h: number,
) {
  const at = (s: number) => f(w.map((x, i) => x + s * u[i]!));
  return (at(h) - 2 * at(0) + at(-h)) / (h * h);
}

/** The gradient by central differences per coordinate, in float64. */
function gradient(f: (w: ArrayLike<number>) => number, w: Float64Array, h: number): Float64Array {
  return w.map((_, i) => {
    const plus = Float64Array.from(w);
    const minus = Float64Array.from(w);
    plus[i]! += h;
    minus[i]! -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

const bytes = (a: Float32Array) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

for (const backend of exactnessBackends()) {
  describe(`directional smoothness on a small network [${backend}]`, () => {
    let net: ReturnType<typeof smallNetwork>;
    let update: Float64Array;
    const analysis = () =>
      createRegistry()
        .register(directionalSmoothnessPlugin)
        .create<AnalysisInstance>('analysis', { name: 'directional-smoothness' });
    const withUpdate = (
      step: number,
      lastUpdate?: () => Float64Array | undefined,
    ): AnalysisTarget => {
      const { lastUpdate: _none, ...rest } = net.target;
      return { ...rest, step, ...(lastUpdate ? { lastUpdate } : {}) } as AnalysisTarget;
    };

    beforeAll(async () => {
      await useBackend(backend);
      net = smallNetwork(2);
      net.params.freeze({ name: 'layer.bias' });
      // An update of the size a step makes: a random direction, norm 0.05.
      const u = new Rng(11).normalArray(net.params.trainable().size);
      const scale = 0.05 / Math.hypot(...u);
      update = u.map((x) => x * scale);
    });
    afterAll(() => net.dispose());

    it('is the second derivative of the loss along û at w_{t−1}, next to ‖∇L(w_{t−1})‖', async () => {
      const trainable = net.params.trainable();
      expect(trainable.names).toEqual(['layer.weight', 'head.weight']);
      const wt = Float64Array.from(trainable.flatten());
      const out = await analysis().run(
        withUpdate(7, () => update),
        { step: 7, seed: 0 },
      );

      // The state before the update, as float32 parameters hold it; û in float64.
      const previous = wt.map((w, i) => Math.fround(w - update[i]!));
      const updateNorm = Math.hypot(...update);
      const direction = update.map((x) => x / updateNorm);
      const f = hostLoss(net);
      const reference = secondDifference(f, previous, direction, 1e-3);
      const finer = secondDifference(f, previous, direction, 5e-4);
      expect(Math.abs(finer - reference)).toBeLessThan(2e-7 * Math.abs(reference));
      const gradNorm = Math.hypot(...gradient(f, previous, 1e-6));

      expect(Math.abs(out.value! - reference)).toBeLessThan(1e-5 * Math.abs(reference));
      const data = out.data as Record<string, number>;
      expect(Object.keys(data).sort()).toEqual(['gradNorm', 'loss', 'measuredAt', 'updateNorm']);
      expect(data.measuredAt).toBe(6);
      expect(data.updateNorm).toBe(updateNorm);
      expect(Math.abs(data.gradNorm! / gradNorm - 1)).toBeLessThan(1e-5);
      expect(Math.abs(data.loss! / f(previous) - 1)).toBeLessThan(1e-6);
      // At w_t the curvature along û is another number: the analysis did move back.
      expect(Math.abs(secondDifference(f, wt, direction, 1e-3) - reference)).toBeGreaterThan(
        1e-3 * Math.abs(reference),
      );
    });

    it('restores the parameters bit for bit and leaks no tensors', async () => {
      const before = net.params.flatten();
      const tensors = tf.memory().numTensors;
      for (let i = 0; i < 3; i++)
        await analysis().run(
          withUpdate(7, () => update),
          { step: 7, seed: 0 },
        );
      expect(tf.memory().numTensors).toBe(tensors);
      expect(bytes(net.params.flatten())).toEqual(bytes(before));
    });

    it('restores them when the loss fails at w_{t−1}', async () => {
      const before = net.params.flatten();
      const failing = {
        ...withUpdate(7, () => update),
        lossOn: () => () => {
          throw new Error('loss failed');
        },
      } as unknown as AnalysisTarget;
      await expect(
        Promise.resolve().then(() => analysis().run(failing, { step: 7, seed: 0 })),
      ).rejects.toThrow('loss failed');
      expect(bytes(net.params.flatten())).toEqual(bytes(before));
    });

    it('has no value without an update: at step 0, after a resume, or from a trainer without them', async () => {
      const before = net.params.flatten();
      const tensors = tf.memory().numTensors;
      const atStart = await analysis().run(
        withUpdate(0, () => undefined),
        { step: 0, seed: 0 },
      );
      expect(atStart.value).toBeUndefined();
      expect(atStart.data).toEqual({ measuredAt: null, reason: 'no update yet at step 0' });
      const resumed = await analysis().run(
        withUpdate(40, () => undefined),
        { step: 40, seed: 0 },
      );
      expect(resumed.value).toBeUndefined();
      expect(resumed.data).toMatchObject({
        measuredAt: null,
        reason: expect.stringMatching(/resumed/),
      });
      const absent = await analysis().run(withUpdate(3), { step: 3, seed: 0 });
      expect(absent.value).toBeUndefined();
      expect(absent.data).toMatchObject({
        measuredAt: null,
        reason: expect.stringMatching(/lastUpdate/),
      });
      const zero = await analysis().run(
        withUpdate(3, () => new Float64Array(update.length)),
        { step: 3, seed: 0 },
      );
      expect(zero.value).toBeUndefined();
      expect(zero.data).toMatchObject({ measuredAt: null, updateNorm: 0 });
      expect(tf.memory().numTensors).toBe(tensors);
      expect(bytes(net.params.flatten())).toEqual(bytes(before));
    });

    it('rejects an update that does not match the trainable blocks', async () => {
      await expect(
        Promise.resolve().then(() =>
          analysis().run(
            withUpdate(3, () => new Float64Array(5)),
            { step: 3, seed: 0 },
          ),
        ),
      ).rejects.toThrow(/5 values, the trainable blocks 36/);
    });
  });
}

describe('directional smoothness figures', () => {
  const run = (label: string) => ({
    id: label,
    label,
    group: label,
    seed: 0,
    model: 'm',
    optimizer: label,
    sweep: {},
  });
  const file = (records: Array<Record<string, unknown> & { step: number }>) => ({
    analysis: 'directional-smoothness',
    label: 'directional-smoothness',
    config: {},
    every: 1,
    records,
  });
  const adam = file([
    { step: 0, measuredAt: null, reason: 'no update yet at step 0' },
    { step: 1, value: 2, measuredAt: 0, gradNorm: 0.5, updateNorm: 0.1, loss: 1 },
    { step: 2, value: 3, measuredAt: 1, gradNorm: 0.7, updateNorm: 0.1, loss: 0.9 },
    { step: 3, value: -1, measuredAt: 2, gradNorm: 0.6, updateNorm: 0.1, loss: 0.8 },
  ]);

  it('draw, per run, S against G coloured by step, and S over steps for all runs', () => {
    const figures = directionalSmoothnessFigures([
      { run: run('adam'), file: adam },
      { run: run('sgd'), file: file([{ step: 0, measuredAt: null, reason: 'step 0' }]) },
    ]);
    expect(figures.map((f) => f.kind)).toEqual(['scatter', 'lines']);
    const [scatter, lines] = figures;
    if (scatter?.kind !== 'scatter' || lines?.kind !== 'lines') throw new Error('kinds');
    expect(scatter.x.log && scatter.y.log).toBe(true);
    expect(scatter.colorLabel).toBe('step');
    expect(scatter.series[0]!.points).toEqual([
      { x: 0.5, y: 2, color: 0 },
      { x: 0.7, y: 3, color: 1 },
      { x: 0.6, y: -1, color: 2 },
    ]);
    expect(scatter.caption).toMatch(/1 of 3 steps with S ≤ 0/);
    expect(lines.y.log).toBe(true);
    expect(lines.series.map((s) => s.name)).toEqual(['adam']);
    expect(lines.series[0]!.points.map((p) => p.x)).toEqual([0, 1, 2]);
  });

  it('draw nothing when nothing was measured', () => {
    expect(
      directionalSmoothnessFigures([
        { run: run('a'), file: file([{ step: 0, measuredAt: null, reason: 'step 0' }]) },
      ]),
    ).toEqual([]);
  });
});
