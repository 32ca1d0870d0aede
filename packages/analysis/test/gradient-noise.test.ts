/**
 * gradient-noise on linear regression, y = Xw + b (b a frozen block), loss mean((Xw + b − y)²),
 * whose per-batch gradient (2/B) Xᵀ(Xw + b − y) the test computes on the host in float64 from
 * the batches' own values: the noise norms, the control's norms, the settings, no leaks, on
 * wasm and cpu; heavy-tailed covariates give heavy-tailed noise, Gaussian ones do not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ParamSet,
  Rng,
  tf,
  useBackend,
  type AnalysisTarget,
  type Batch,
  type Scalar,
  exactnessBackends,
} from '@tdx/tensor';
import type { AnalysisFile, RunIdentity } from '@tdx/core';
import {
  gradientNoise,
  gradientNoiseConfig,
  gradientNoiseFigures,
  gradientNoisePlugin,
} from '../src/plugins/gradient-noise.js';
import { gaussianControl, gramMatrix } from '../src/statistics/index.js';

interface HostBatch {
  x: Float32Array;
  y: Float32Array;
}

/** Linear regression with d covariates; `studentNu` makes them multivariate Student-t. */
function linearRegression(options: {
  d: number;
  batchSize: number;
  seed: number;
  studentNu?: number;
}) {
  const { d, batchSize: B, seed } = options;
  const rng = new Rng(seed);
  const wStar = rng.normalArray(d);
  const w0 = Float32Array.from(rng.normalArray(d));
  const bias = Float32Array.of(0.3);
  const params = ParamSet.create([
    { name: 'w', role: 'head', init: { values: w0, shape: [d, 1] } },
    { name: 'b', role: 'bias', init: { values: bias, shape: [1] } },
  ]).freeze({ name: 'b' });
  const hostBatch = (step: number): HostBatch => {
    const r = new Rng(`linear-regression ${seed} ${step}`);
    const x = new Float32Array(B * d);
    const y = new Float32Array(B);
    for (let i = 0; i < B; i++) {
      const scale =
        options.studentNu === undefined
          ? 1
          : Math.sqrt(options.studentNu / r.gamma(options.studentNu / 2, 2));
      let yi = 0.5 * r.normal();
      for (let k = 0; k < d; k++) {
        x[i * d + k] = scale * r.normal();
        yi += x[i * d + k]! * wStar[k]!;
      }
      y[i] = yi;
    }
    return { x, y };
  };
  const batch = (step: number): Batch => {
    const { x, y } = hostBatch(step);
    return { inputs: tf.tensor2d(x, [B, d]), targets: tf.tensor2d(y, [B, 1]) };
  };
  const lossOn = (b: Batch) => (p: Record<string, tf.Tensor>) =>
    tf.tidy(
      () =>
        tf.mean(tf.square(tf.sub(tf.add(tf.matMul(b.inputs, p.w!), p.b!), b.targets))) as Scalar,
    );
  const evalBatch = batch(0);
  const target = {
    params,
    lossOn,
    analysisBatch: () => evalBatch,
    dataset: { batch },
    step: 0,
  } as unknown as AnalysisTarget;
  /** (2/B) Xᵀ(Xw + b − y) in float64, at the float32 parameter values. */
  const hostGradient = (step: number): Float64Array => {
    const { x, y } = hostBatch(step);
    const g = new Float64Array(d);
    for (let i = 0; i < B; i++) {
      let r = bias[0]! - y[i]!;
      for (let k = 0; k < d; k++) r += x[i * d + k]! * w0[k]!;
      for (let k = 0; k < d; k++) g[k]! += (2 / B) * x[i * d + k]! * r;
    }
    return g;
  };
  return {
    target,
    hostGradient,
    dispose: () => {
      params.dispose();
      tf.dispose([evalBatch.inputs, evalBatch.targets]);
    },
  };
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe.each(exactnessBackends())('gradient-noise [%s]', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  // d = 4 < samples: the control from the stored rows; d = 48 > samples: from the Gram matrix.
  it.each([4, 48])(
    'noise norms and control norms match float64 host gradients (d = %d), no leaks',
    (d) => {
      const model = linearRegression({ d, batchSize: 16, seed: 3 });
      const config = gradientNoiseConfig.parse({ samples: 30, trueBatches: 7 });
      const seed = 1234;
      const before = tf.memory().numTensors;
      const out = gradientNoise(model.target, config, seed);
      expect(tf.memory().numTensors).toBe(before);

      // The true gradient: the mean over batches −1..−7; samples from batches −8..−37.
      const g = new Float64Array(d);
      for (let t = 0; t < 7; t++) model.hostGradient(-1 - t).forEach((v, k) => (g[k]! += v / 7));
      const noise = Array.from({ length: 30 }, (_, j) =>
        model.hostGradient(-8 - j).map((v, k) => v - g[k]!),
      );
      const norms = noise.map((e) => Math.hypot(...e));
      const data = out.data;
      expect(data.noiseNorms).toHaveLength(30);
      for (let j = 0; j < 30; j++)
        expect(relative(data.noiseNorms![j]!, norms[j]!)).toBeLessThan(1e-5);
      expect(relative(data.trueGradientNorm!, Math.hypot(...g))).toBeLessThan(1e-5);

      // The control: Gaussian with the noise's mean and covariance, draws from new Rng(seed).
      const control = gaussianControl(noise, 30, new Rng(seed)).map((z) => Math.hypot(...z));
      expect(data.controlNorms).toHaveLength(30);
      for (let m = 0; m < 30; m++)
        expect(relative(data.controlNorms![m]!, control[m]!)).toBeLessThan(1e-5);

      expect(out.value).toBe(data.noise!.hill.alpha);
      expect(data.noise!.n).toBe(30);
      expect(data.noise!.hill.k).toBe(10);
      expect(typeof data.heavierThanGaussian).toBe('boolean');
      expect(data.settings).toEqual({
        samples: 30,
        trueBatches: 7,
        batchSize: 16,
        tailFraction: 0.1,
        tailSize: 10,
        parameters: d,
        trueBatchSteps: [-1, -7],
        sampleBatchSteps: [-8, -37],
      });
      // Same seed, same numbers; JSON-serialisable.
      expect(gradientNoise(model.target, config, seed)).toEqual(out);
      expect(JSON.parse(JSON.stringify(out.data))).toEqual(out.data);
      model.dispose();
    },
  );

  it('finds heavy-tailed noise with Student-t covariates and none with Gaussian ones', () => {
    const config = gradientNoiseConfig.parse({ samples: 400, trueBatches: 20 });
    const heavy = linearRegression({ d: 4, batchSize: 8, seed: 5, studentNu: 3 });
    const light = linearRegression({ d: 4, batchSize: 64, seed: 5 });
    const h = gradientNoise(heavy.target, config, 1).data;
    const l = gradientNoise(light.target, config, 1).data;
    // Per-example gradients scale like s² with P(s² > t) ~ t^(−3/2): tail index about 1.5.
    expect(h.heavierThanGaussian).toBe(true);
    expect(h.noise!.hill.alpha).toBeLessThan(3);
    expect(h.noise!.quantiles.q999OverQ50).toBeGreaterThan(2 * h.control!.quantiles.q999OverQ50);
    expect(l.heavierThanGaussian).toBe(false);
    expect(Math.abs(l.comparison!.gapInStandardErrors)).toBeLessThan(2);
    heavy.dispose();
    light.dispose();
  });

  it('computes Gram matrices in blocks on the backend', () => {
    const rng = new Rng(11);
    const n = 7;
    const dim = 5;
    const rows = Float32Array.from(rng.normalArray(n * dim));
    const before = tf.memory().numTensors;
    for (const blockFloats of [dim, 3 * dim, 1 << 22]) {
      const gram = gramMatrix(rows, n, dim, blockFloats);
      for (let j = 0; j < n; j++)
        for (let k = 0; k < n; k++) {
          let want = 0;
          for (let i = 0; i < dim; i++) want += rows[j * dim + i]! * rows[k * dim + i]!;
          expect(gram[j * n + k]).toBeCloseTo(want, 5);
        }
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('gradient-noise plugin', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('has defaults and bounds', () => {
    expect(gradientNoiseConfig.parse({})).toEqual({
      samples: 1000,
      trueBatches: 100,
      tailFraction: 0.1,
    });
    expect(() => gradientNoiseConfig.parse({ samples: 10 })).toThrow();
    expect(() => gradientNoiseConfig.parse({ samples: 20_000 })).toThrow();
    expect(() => gradientNoiseConfig.parse({ trueBatches: 0 })).toThrow();
    expect(() => gradientNoiseConfig.parse({ tailFraction: 0.6 })).toThrow();
    expect(gradientNoisePlugin.kind).toBe('analysis');
    expect(gradientNoisePlugin.name).toBe('gradient-noise');
  });

  it('runs as the plain function does, and draws the last histogram of each run', async () => {
    const model = linearRegression({ d: 3, batchSize: 8, seed: 9 });
    const config = gradientNoiseConfig.parse({ samples: 40, trueBatches: 5 });
    const instance = gradientNoisePlugin.create(config, {} as never);
    const first = await instance.run(model.target, { step: 0, seed: 77 });
    expect(first).toEqual(gradientNoise(model.target, config, 77));
    const later = gradientNoise(model.target, config, 78);

    const run = { label: 'sgd' } as RunIdentity;
    const file = {
      analysis: 'gradient-noise',
      label: 'noise',
      config,
      records: [
        { step: 0, value: first.value, ...first.data },
        { step: 50, value: later.value, ...later.data },
      ],
    } as AnalysisFile;
    const figures = instance.figures!([{ run, file }]);
    const histogram = figures.find((f) => f.kind === 'histogram');
    expect(histogram).toMatchObject({
      kind: 'histogram',
      id: 'noise-sgd-step50',
      density: true,
      series: [{ values: later.data.noiseNorms }, { values: later.data.controlNorms }],
    });
    expect(histogram!.title).toMatch(/step 50/);
    expect(figures.filter((f) => f.kind === 'histogram')).toHaveLength(1);
    const lines = figures.find((f) => f.kind === 'lines');
    expect(lines?.kind === 'lines' && lines.series[0]!.points.map((p) => p.x)).toEqual([0, 50]);
    // A single evaluation: the histogram only.
    expect(
      gradientNoiseFigures([{ run, file: { ...file, records: file.records.slice(0, 1) } }]).map(
        (f) => f.id,
      ),
    ).toEqual(['noise-sgd-step0']);
    model.dispose();
  });
});
