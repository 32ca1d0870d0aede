/**
 * mean-field against hand computations on a fake mean-field model: L = 2 layers, 3 heads of
 * dimension 2 stored as the COLUMNS of a [2, 3] block (so the split is not the blocks' row
 * order), 4 neurons of dimension 3 as the rows of a [4, 3] block, and an embedding outside the
 * particles; data loss R = ½ Σ c ⊙ (w − a)², so ∇R = c ⊙ (w − a). The figures' functions on
 * fabricated records against interpolation by hand and direct sliced-Wasserstein calls.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createRegistry,
  TdxError,
  type AnalysisFile,
  type AnalysisInstance,
  type LinesFigure,
  type RunIdentity,
} from '@tdx/core';
import {
  ParamSet,
  Rng,
  tf,
  useBackend,
  type AnalysisTarget,
  type Batch,
  type ParamValues,
  type ParticleGroup,
  exactnessBackends,
} from '@tdx/tensor';
import {
  curveGaps,
  float32Json,
  meanField,
  meanFieldConfig,
  meanFieldFigures,
  meanFieldPlugin,
  particleDirections,
  particleDistances,
  particleDrift,
  type MeanFieldData,
  type MeanFieldRuns,
} from '../src/plugins/mean-field.js';
import { slicedWasserstein } from '../src/statistics/wasserstein.js';

const [L, HEADS, HEAD_DIM, NEURONS, NEURON_DIM] = [2, 3, 2, 4, 3];

type Host = Record<string, number[]>;

const blockShapes: Record<string, number[]> = {
  embed: [2],
  ...Object.fromEntries(
    Array.from({ length: L }, (_, l) => [
      [`layers.${l}.attn`, [HEAD_DIM, HEADS]],
      [`layers.${l}.mlp`, [NEURONS, NEURON_DIM]],
    ]).flat(),
  ),
};

/** Heads are columns of the attention block, neurons rows of the MLP block. */
function fakeParticles(values: ParamValues): ParticleGroup[] {
  const groups: ParticleGroup[] = [];
  for (let l = 0; l < L; l++) {
    const attn = values[`layers.${l}.attn`]!.dataSync();
    const heads = new Float64Array(HEADS * HEAD_DIM);
    for (let j = 0; j < HEADS; j++)
      for (let r = 0; r < HEAD_DIM; r++) heads[j * HEAD_DIM + r] = attn[r * HEADS + j]!;
    groups.push({ kind: 'attention', layer: l, count: HEADS, dimension: HEAD_DIM, values: heads });
    const mlp = values[`layers.${l}.mlp`]!.dataSync();
    groups.push({
      kind: 'mlp',
      layer: l,
      count: NEURONS,
      dimension: NEURON_DIM,
      values: Float64Array.from(mlp),
    });
  }
  return groups;
}

function fakeTarget(
  w: Host,
  c: Host,
  a: Host,
  options: {
    metrics?: Record<string, number>;
    hyperparameters?: Record<string, number>;
    particles?: boolean;
    meanField?: boolean;
    heads?: number;
  } = {},
) {
  const params = ParamSet.create(
    Object.entries(blockShapes).map(([name, shape]) => ({
      name,
      role: name === 'embed' ? ('embedding' as const) : ('other' as const),
      init: { values: w[name]!, shape },
    })),
  );
  const batch = { inputs: tf.zeros([1]), targets: tf.zeros([1]) } as Batch;
  const loss = (v: ParamValues) =>
    tf.tidy(() =>
      tf.mul(
        0.5,
        tf.addN(
          Object.keys(blockShapes).map((n) =>
            tf.sum(
              tf.mul(
                tf.tensor(c[n]!, blockShapes[n]),
                tf.square(tf.sub(v[n]!, tf.tensor(a[n]!, blockShapes[n]))),
              ),
            ),
          ),
        ),
      ),
    ) as tf.Scalar;
  const model = {
    params,
    loss,
    predict: () => {
      throw new Error('not used');
    },
    dispose: () => params.dispose(),
    ...(options.particles === false ? {} : { particles: fakeParticles }),
    ...(options.meanField === false
      ? {}
      : { meanField: { layers: L, heads: options.heads ?? HEADS, neurons: NEURONS, alpha: 1 } }),
  };
  const target = {
    model,
    dataset: {},
    params,
    step: 0,
    lossOn: () => loss,
    analysisBatch: () => batch,
    ...(options.metrics ? { optimizerMetrics: () => options.metrics! } : {}),
    ...(options.hyperparameters
      ? { optimizerHyperparameters: () => options.hyperparameters! }
      : {}),
  } as unknown as AnalysisTarget;
  return {
    target,
    params,
    dispose: () => {
      params.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    },
  };
}

function draw(seed: number, mean = 0, std = 1): Host {
  const rng = new Rng(seed);
  return Object.fromEntries(
    Object.entries(blockShapes).map(([name, shape]) => [
      name,
      // Float32 values, as the parameters hold them, so the host reference sees the same w.
      Array.from(
        rng.normalArray(
          shape.reduce((x, y) => x * y, 1),
          mean,
          std,
        ),
        Math.fround,
      ),
    ]),
  );
}

const constant = (x: number): Host =>
  Object.fromEntries(
    Object.entries(blockShapes).map(([n, s]) => [n, Array(s.reduce((p, q) => p * q, 1)).fill(x)]),
  );

/** Q, the gradient norms and the stationarity gap by explicit loops over the known layout. */
function reference(w: Host, c: Host, a: Host, lambda: number, frozen: string[] = []) {
  const names = Object.keys(blockShapes);
  const g = Object.fromEntries(
    names.map((n) => [n, w[n]!.map((x, i) => c[n]![i]! * (x - a[n]![i]!))]),
  );
  const R =
    0.5 *
    names.reduce(
      (s, n) => s + w[n]!.reduce((t, x, i) => t + c[n]![i]! * (x - a[n]![i]!) ** 2, 0),
      0,
    );
  let reg = 0;
  let gradSq = 0;
  let objSq = 0;
  const gap = { attention: 0, mlp: 0 };
  for (const n of names) {
    const M = n.endsWith('attn') ? HEADS : n.endsWith('mlp') ? NEURONS : 0;
    const kind = n.endsWith('attn') ? 'attention' : 'mlp';
    const trainable = !frozen.includes(n);
    w[n]!.forEach((x, i) => {
      const gi = g[n]![i]!;
      if (trainable) gradSq += gi * gi;
      if (M === 0) {
        if (trainable) objSq += gi * gi;
        return;
      }
      // Every entry belongs to exactly one particle of its layer: Σ_j ‖θ_j‖² is Σ over entries.
      reg += (lambda / 2) * (1 / L) * (1 / M) * x * x;
      if (!trainable) return;
      const v = -L * M * gi - lambda * x;
      gap[kind] += (v * v) / (L * M);
      objSq += (gi + (lambda / (L * M)) * x) ** 2;
    });
  }
  return {
    R,
    Q: R + reg,
    reg,
    gradNorm: Math.sqrt(gradSq),
    objectiveGradNorm: Math.sqrt(objSq),
    gap,
  };
}

const rel = (x: number, y: number) => Math.abs(x - y) / Math.max(Math.abs(y), 1e-12);

describe.each(exactnessBackends())('mean-field [%s]', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('gives Q = ½‖w‖² + (λ/2)(1/L)Σ(1/M)‖θ‖² and gap (LM + λ)²·(1/(LM))Σ‖θ‖² when ∇R = w', () => {
    // Hand case: c = 1, a = 0, every entry of the particles 1, embedding [3, 4]. Per layer the
    // attention block has 6 entries and the MLP block 12.
    const w = constant(1);
    w.embed = [3, 4];
    const lambda = 0.5;
    const f = fakeTarget(w, constant(1), constant(0));
    const out = meanField(f.target, meanFieldConfig.parse({ weightDecay: lambda }));
    const R = 0.5 * (25 + 2 * 6 + 2 * 12); // 30.5
    // (λ/2)·(1/L)·Σ_layers [(1/3)·6 + (1/4)·12] = 0.25 · 0.5 · (5 + 5) = 1.25.
    expect(out.data.regularizer).toBeCloseTo(1.25, 6);
    expect(out.value).toBeCloseTo(R + 1.25, 4);
    expect(out.data.loss).toBeCloseTo(R, 4);
    // Attention: LM = 6, v = −6.5 per entry: (1/6)·42.25·12 entries = 84.5; MLP: LM = 8,
    // v = −8.5: (1/8)·72.25·24 = 216.75.
    expect(out.data.stationarityByKind.attention).toBeCloseTo(84.5, 4);
    expect(out.data.stationarityByKind.mlp).toBeCloseTo(216.75, 4);
    expect(out.data.stationarity).toBeCloseTo(301.25, 4);
    // ∇R = w: √(25 + 36); ∇Q: embedding 25, attention 12·(1 + 0.5/6)², MLP 24·(1 + 0.5/8)².
    expect(out.data.gradNorm).toBeCloseTo(Math.sqrt(61), 5);
    expect(out.data.objectiveGradNorm).toBeCloseTo(
      Math.sqrt(25 + 12 * (1 + 0.5 / 6) ** 2 + 24 * (1 + 0.5 / 8) ** 2),
      5,
    );
    expect(out.data).toMatchObject({ layers: 2, heads: 3, neurons: 4, alpha: 1, weightDecay: 0.5 });
    f.dispose();
  });

  it('matches explicit loops over the layout for a general quadratic, and leaves no tensors', () => {
    const [w, c, a] = [draw(1), draw(2, 1, 0.3), draw(3)];
    const lambda = 0.07;
    const f = fakeTarget(w, c, a);
    const before = tf.memory().numTensors;
    const out = meanField(f.target, meanFieldConfig.parse({ weightDecay: lambda }));
    expect(tf.memory().numTensors).toBe(before);
    const ref = reference(w, c, a, lambda);
    expect(rel(out.data.loss, ref.R)).toBeLessThan(1e-5);
    expect(rel(out.data.objective, ref.Q)).toBeLessThan(1e-5);
    expect(rel(out.data.regularizer, ref.reg)).toBeLessThan(1e-6);
    expect(rel(out.data.gradNorm, ref.gradNorm)).toBeLessThan(1e-5);
    expect(rel(out.data.objectiveGradNorm, ref.objectiveGradNorm)).toBeLessThan(1e-5);
    expect(rel(out.data.stationarityByKind.attention!, ref.gap.attention)).toBeLessThan(1e-5);
    expect(rel(out.data.stationarityByKind.mlp!, ref.gap.mlp)).toBeLessThan(1e-5);
    f.dispose();
  });

  it('gives the stationarity gap as −dQ/dτ along the particle flow dθ/dτ = −LM∇R − λθ', () => {
    // Central difference of Q along the flow's velocity (the embedding frozen, so only the
    // particles move): an independent check of the definition, not of the formula.
    const [w, c, a] = [draw(8), draw(9, 1, 0.3), draw(10)];
    const lambda = 0.3;
    const f = fakeTarget(w, c, a);
    f.params.freeze({ name: 'embed' });
    const config = meanFieldConfig.parse({ weightDecay: lambda });
    const gap = meanField(f.target, config).data.stationarity;
    const h = 2e-4;
    const moved = (sign: number) => {
      for (const b of f.params.trainable().blocks) {
        const M = b.name.endsWith('attn') ? HEADS : NEURONS;
        const v = w[b.name]!.map(
          (x, i) => -L * M * c[b.name]![i]! * (x - a[b.name]![i]!) - lambda * x,
        );
        f.params.select({ name: b.name }).assign(w[b.name]!.map((x, i) => x + sign * h * v[i]!));
      }
      return meanField(f.target, config).value;
    };
    const slope = (moved(1) - moved(-1)) / (2 * h);
    expect(rel(-slope, gap)).toBeLessThan(1e-4);
    f.dispose();
  });

  it('keeps frozen blocks out of the velocity and ∇Q, not out of Q', () => {
    const [w, c, a] = [draw(4), draw(5, 1, 0.3), draw(6)];
    const lambda = 0.2;
    const f = fakeTarget(w, c, a);
    f.params.freeze({ name: ['layers.1.mlp', 'layers.0.attn'] });
    const out = meanField(f.target, meanFieldConfig.parse({ weightDecay: lambda }));
    const ref = reference(w, c, a, lambda, ['layers.1.mlp', 'layers.0.attn']);
    expect(rel(out.data.objective, ref.Q)).toBeLessThan(1e-5);
    expect(rel(out.data.gradNorm, ref.gradNorm)).toBeLessThan(1e-5);
    expect(rel(out.data.objectiveGradNorm, ref.objectiveGradNorm)).toBeLessThan(1e-5);
    expect(rel(out.data.stationarityByKind.attention!, ref.gap.attention)).toBeLessThan(1e-5);
    expect(rel(out.data.stationarityByKind.mlp!, ref.gap.mlp)).toBeLessThan(1e-5);
    f.dispose();
  });

  it("reads τ from the optimizer's metrics, records null without, and checks its decay (a hyperparameter)", () => {
    const [w, c, a] = [draw(1), draw(2, 1, 0.3), draw(3)];
    const config = meanFieldConfig.parse({ weightDecay: 0.01 });
    const timed = fakeTarget(w, c, a, { metrics: { tau: 0.37, lr: 0.1 } });
    expect(meanField(timed.target, config).data).toMatchObject({ tau: 0.37 });
    expect(meanField(timed.target, config).data.tauReason).toBeUndefined();
    timed.dispose();
    const untimed = fakeTarget(w, c, a);
    const data = meanField(untimed.target, config).data;
    expect(data.tau).toBeNull();
    expect(data.tauReason).toMatch(/reports no tau/);
    const decayed = fakeTarget(w, c, a, {
      metrics: { tau: 1 },
      hyperparameters: { weightDecay: 0.1 },
    });
    expect(() => meanField(decayed.target, config)).toThrow(/differs from the optimizer's 0.1/);
    // Without weightDecay of its own, the analysis takes the optimizer's λ.
    const own = meanField(decayed.target, meanFieldConfig.parse({})).data;
    expect(own.weightDecay).toBe(0.1);
    expect(() => meanField(untimed.target, meanFieldConfig.parse({}))).toThrow(/needs λ/);
    decayed.dispose();
    untimed.dispose();
  });

  it('records a seeded subsample of (θ, t) per kind, the same at every call', () => {
    const w = draw(7);
    const f = fakeTarget(w, constant(1), constant(0));
    const config = meanFieldConfig.parse({ weightDecay: 0, maxParticles: 4, seed: 3 });
    const first = meanField(f.target, config).data.particles;
    expect(meanField(f.target, config).data.particles).toEqual(first);
    // 6 heads (3 per layer) → 4 recorded; 8 neurons → 4 recorded.
    const heads = first.attention!;
    expect(heads).toMatchObject({ total: 6, dimension: 3 });
    expect(heads.points).toHaveLength(4);
    // Each point is a real head (column of its layer's block) with t = (layer + 0.5)/2.
    const all = fakeParticles(f.params.values());
    for (const p of heads.points) {
      const layer = p[2] === 0.25 ? 0 : p[2] === 0.75 ? 1 : NaN;
      const group = all.find((g) => g.kind === 'attention' && g.layer === layer)!;
      const rows = Array.from({ length: HEADS }, (_, j) =>
        Array.from(group.values.subarray(j * 2, j * 2 + 2), float32Json),
      );
      expect(rows).toContainEqual(p.slice(0, 2));
    }
    expect(first.mlp!.points).toHaveLength(4);
    expect(first.mlp!.points[0]).toHaveLength(4);
    // Other seeds choose other subsets (some of them: 15 subsets of 4 among 6).
    const others = [4, 5, 6, 7].map(
      (seed) =>
        meanField(f.target, meanFieldConfig.parse({ weightDecay: 0, maxParticles: 4, seed })).data
          .particles.attention!.points,
    );
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(heads.points))).toBe(true);
    // Under the cap, every particle in order of layer and unit.
    const every = meanField(f.target, meanFieldConfig.parse({ weightDecay: 0 })).data.particles;
    expect(every.mlp!.points).toEqual(
      all
        .filter((g) => g.kind === 'mlp')
        .flatMap((g) =>
          Array.from({ length: NEURONS }, (_, j) => [
            ...Array.from(g.values.subarray(j * 3, j * 3 + 3), float32Json),
            (g.layer + 0.5) / L,
          ]),
        ),
    );
    f.dispose();
  });

  it('fails with a hint for a model without particles or scaling, or with a wrong M', () => {
    const [w, c, a] = [draw(1), draw(2), draw(3)];
    const config = meanFieldConfig.parse({ weightDecay: 0.01 });
    for (const options of [{ particles: false }, { meanField: false }, { heads: 5 }]) {
      const f = fakeTarget(w, c, a, options);
      let error: unknown;
      try {
        meanField(f.target, config);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TdxError);
      expect((error as TdxError).code).toBe('PLUGIN_CONTRACT');
      expect((error as TdxError).hint).toBeTruthy();
      f.dispose();
    }
  });

  it('is a registered plugin whose weightDecay, when given, is checked', () => {
    const registry = createRegistry().register(meanFieldPlugin);
    let error: unknown;
    try {
      registry.create<AnalysisInstance>('analysis', { name: 'mean-field', weightDecay: -1 });
    } catch (e) {
      error = e;
    }
    expect((error as TdxError).problems.map((p) => p.path)).toContain('analysis.weightDecay');
    const instance = registry.create<AnalysisInstance>('analysis', {
      name: 'mean-field',
      weightDecay: 0.001,
    });
    expect(typeof instance.figures).toBe('function');
  });
});

// ---------------------------------------------------------------------------------------------
// Figures on fabricated records.

const identity = (group: string, seed: number): RunIdentity => ({
  id: `${group}-${seed}`,
  label: `${group}_seed=${seed}`,
  group,
  seed,
  model: 'gpt',
  optimizer: 'sgd',
  sweep: {},
});

function cloud(seed: number, n: number, shift: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => [
    float32Json(rng.normal() + shift),
    float32Json(rng.normal()),
    i % 2 === 0 ? 0.25 : 0.75,
  ]);
}

function run(
  group: string,
  seed: number,
  size: { layers: number; heads: number; neurons: number },
  curve: Array<{ tau: number | null; step: number; loss: number; shift: number }>,
): MeanFieldRuns[number] {
  const file: AnalysisFile = {
    analysis: 'mean-field',
    label: 'mf',
    config: { weightDecay: 0.01, maxParticles: 512, seed: 0, directions: 64 },
    records: curve.map((p, i) => ({
      step: p.step,
      value: p.loss + 0.1,
      tau: p.tau,
      loss: p.loss,
      objective: p.loss + 0.1,
      ...size,
      particles: {
        attention: {
          total: 8,
          dimension: 3,
          points: cloud(seed * 100 + i, 5 + size.heads, p.shift),
        },
      },
    })),
  };
  return { run: identity(group, seed), file };
}

const small = { layers: 1, heads: 2, neurons: 2 };
const medium = { layers: 1, heads: 4, neurons: 4 };
const large = { layers: 2, heads: 4, neurons: 4 };

/** Given out of order: the functions must order the groups by size (4, 8, 16). */
function fabricated(): MeanFieldRuns {
  return [
    // C: two seeds whose mean is (1, 0.5, 0.3) at τ = 0, 1, 2; τ = 1 written 1e-9 off.
    run('C', 1, large, [
      { tau: 0, step: 0, loss: 0.9, shift: 0 },
      { tau: 1 + 1e-9, step: 10, loss: 0.5, shift: 1 },
      { tau: 2, step: 20, loss: 0.3, shift: 2 },
    ]),
    run('A', 1, small, [
      { tau: 0, step: 0, loss: 1, shift: 0 },
      { tau: 1, step: 10, loss: 0.5, shift: 0.5 },
      { tau: 2, step: 20, loss: 0.3, shift: 1 },
    ]),
    run('B', 1, medium, [
      { tau: 0, step: 0, loss: 1.2, shift: 0.1 },
      { tau: 0.5, step: 5, loss: 0.8, shift: 0.2 },
      { tau: 1, step: 10, loss: 0.6, shift: 0.3 },
      { tau: 1.5, step: 15, loss: 0.4, shift: 0.4 },
      { tau: 2.5, step: 25, loss: 0.2, shift: 0.5 },
    ]),
    run('C', 2, large, [
      { tau: 0, step: 0, loss: 1.1, shift: 0 },
      { tau: 1, step: 10, loss: 0.5, shift: 1.5 },
      { tau: 2.001, step: 20, loss: 0.3, shift: 2 },
    ]),
  ];
}

describe('mean-field figures', () => {
  it('curveGaps: max and mean |ΔR| of successive sizes, linear in τ', () => {
    const { axis, pairs } = curveGaps(fabricated());
    expect(axis).toBe('tau');
    expect(pairs.map((p) => [p.from, p.to, p.fromSize, p.toSize])).toEqual([
      ['A', 'B', 4, 8],
      ['B', 'C', 8, 16],
    ]);
    // A vs B on [0, 2] at τ = 0, 0.5, 1, 1.5, 2: A (1, 0.75, 0.5, 0.4, 0.3), B (1.2, 0.8, 0.6,
    // 0.4, 0.3): gaps 0.2, 0.05, 0.1, 0, 0.
    expect(pairs[0]).toMatchObject({ points: 5, range: [0, 2] });
    expect(pairs[0]!.max).toBeCloseTo(0.2, 12);
    expect(pairs[0]!.mean).toBeCloseTo(0.07, 12);
    // C's mean over its seeds: 1 at 0, 0.5 at 1 and 1 + 1e-9, 0.3 at 2 and 0.3 at 2.001 (one
    // seed each), so against B on [0, 2.001] the largest gap is again 0.2 at τ = 0.
    expect(pairs[1]!.max).toBeCloseTo(0.2, 6);
  });

  it('particleDistances: SW2 of successive sizes at matching τ, as direct calls give', () => {
    const runs = fabricated();
    const { pairs, directions } = particleDistances(runs);
    expect(directions).toBe(64);
    const u = particleDirections(3, 64, 0);
    const cloudOf = (r: MeanFieldRuns[number], i: number) => {
      const points = (r.file.records[i]!.particles as MeanFieldData['particles']).attention!.points;
      return { values: points.flat(), dimension: 3 };
    };
    const [c1, a, b, c2] = runs;
    const ab = pairs.find((p) => p.from === 'A')!;
    // A (τ 0, 1, 2) and B (τ 0, 0.5, 1, 1.5, 2.5) meet at τ = 0 and 1.
    expect(ab.points.map((p) => p.time)).toEqual([0, 1]);
    expect(ab.points[1]!.distance).toBeCloseTo(
      slicedWasserstein(cloudOf(a!, 1), cloudOf(b!, 2), { directions: u }).distance,
      12,
    );
    // B against C: seed 1 of each (C's seed 1 meets B at 0 and 1 + 1e-9, its τ = 2.001 nowhere).
    const bc = pairs.find((p) => p.from === 'B')!;
    expect(bc.points.map((p) => [p.time, p.runs])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(bc.points[1]!.distance).toBeCloseTo(
      slicedWasserstein(cloudOf(b!, 2), cloudOf(c1!, 1), { directions: u }).distance,
      12,
    );
    expect(c2).toBeDefined();
    // With many directions, close to an independent estimate from other directions.
    const many = particleDistances(runs, { directions: 2000, seed: 5 }).pairs.find(
      (p) => p.from === 'A',
    )!.points[1]!;
    const other = slicedWasserstein(cloudOf(a!, 1), cloudOf(b!, 2), { directions: 2000, seed: 99 });
    expect(Math.abs(many.distance - other.distance)).toBeLessThan(
      4 * Math.hypot(many.standardError, other.standardError),
    );
  });

  it('particleDrift: SW2 to the particles at step 0, per run', () => {
    const runs = fabricated();
    const drift = particleDrift(runs);
    const a = drift.runs.find((d) => d.run === 'A_seed=1')!;
    expect(a.points.map((p) => p.time)).toEqual([0, 1, 2]);
    expect(a.points[0]!.distance).toBe(0);
    const records = runs[1]!.file.records;
    const cloudAt = (i: number) => ({
      values: (records[i]!.particles as MeanFieldData['particles']).attention!.points.flat(),
      dimension: 3,
    });
    expect(a.points[2]!.distance).toBeCloseTo(
      slicedWasserstein(cloudAt(0), cloudAt(2), { directions: particleDirections(3, 64, 0) })
        .distance,
      12,
    );
    // Particles shifted by 1 along the first axis: about 1/√3 (E (u·e₁)² = 1/3), plus noise.
    expect(a.points[2]!.distance).toBeGreaterThan(0.4);
  });

  it('falls back to the step without τ, and draws four figures', () => {
    const untimed = fabricated().map(({ run: r, file }) => ({
      run: r,
      file: { ...file, records: file.records.map((rec) => ({ ...rec, tau: null })) },
    }));
    const { axis, pairs } = particleDistances(untimed);
    expect(axis).toBe('step');
    // By step, C's seed 1 meets B at steps 0 and 10.
    expect(pairs.find((p) => p.from === 'B')!.points.map((p) => p.time)).toEqual([0, 10]);

    const figures = meanFieldFigures(fabricated());
    expect(figures.map((f) => f.id)).toEqual([
      'mf-objective',
      'mf-curve-gaps',
      'mf-size-distance',
      'mf-drift',
    ]);
    const gaps = figures[1] as LinesFigure;
    expect(gaps.series[0]!.name).toBe('max |ΔR|');
    expect(gaps.series[0]!.points[0]).toEqual({ x: 8, y: expect.closeTo(0.2, 12) });
    expect(gaps.caption).toMatch(/L1·M2 → L1·M4, \|ΔR\| max 0.200 mean 0.0700/);
    const objective = figures[0] as LinesFigure;
    expect(objective.series.map((s) => s.name)).toEqual(['A R', 'A Q', 'B R', 'B Q', 'C R', 'C Q']);
    // C has two seeds: a band.
    expect(objective.series[4]!.band).toBeDefined();
  });

  it('draws the stationarity gap against τ when the records carry it', () => {
    const gaps = [4, 0.5, 0.01];
    const runs = fabricated().map(({ run: r, file }) => ({
      run: r,
      file: {
        ...file,
        records: file.records.map((rec, i) => ({ ...rec, stationarity: gaps[i % 3] })),
      },
    }));
    const figures = meanFieldFigures(runs);
    expect(figures.map((f) => f.id)).toContain('mf-stationarity');
    const figure = figures.find((f) => f.id === 'mf-stationarity') as LinesFigure;
    expect(figure.series.map((s) => s.name)).toEqual(['A', 'B', 'C']);
    expect(figure.series[0]!.points.map((p) => p.y)).toEqual(
      gaps.slice(0, figure.series[0]!.points.length),
    );
  });
});
