/**
 * The mean-field picture of Gao et al. (NeurIPS 2024): a Transformer of depth L with M heads
 * and M' MLP neurons per layer, each branch (α/(L·M)) Σ_j f(H; θ_j), is a particle
 * discretisation of a distribution ρ_t(θ) over depth t ∈ [0, 1]; gradient flow with learning
 * rate × L·M and weight decay λ on the particles is the Wasserstein gradient flow of
 *   Q(ρ) = R(ρ) + (λ/2) ∫∫ ‖θ‖² ρ_t(dθ) dt.
 * At each evaluation, on the analysis batch: the training time τ, R, Q of the particles, ‖∇R‖,
 * ‖∇Q‖ in parameter space and the stationarity gap of Q in the Wasserstein metric, and a seeded
 * subsample of the particles with their depth t = (layer + 0.5)/L appended, so that runs of
 * different sizes compare as distributions over (θ, t). The figures compare sizes: the loss
 * curves against τ and the sliced 2-Wasserstein distances between particle distributions.
 */
import {
  definePlugin,
  deriveSeed,
  groupRuns,
  groupSeries,
  seedsCaption,
  TdxError,
  z,
  type AnalysisFile,
  type AnalysisInstance,
  type AnalysisOutput,
  type FigureSpec,
  type Point,
  type RunIdentity,
  type Series,
} from '@tdx/core';
import {
  Rng,
  tf,
  valueAndGrad,
  type AnalysisTarget,
  type MeanFieldScaling,
  type Model,
  type ParamValues,
  type ParticleGroup,
} from '@tdx/tensor';
import {
  randomDirections,
  slicedWassersteinFromProjections,
  sortedProjections,
  type SlicedWasserstein,
} from '../statistics/wasserstein.js';

export const meanFieldConfig = z.object({
  weightDecay: z
    .number()
    .min(0)
    .optional()
    .describe(
      "λ of Q. Default: the optimizer's `weightDecay`, as it reports it (tdx's sgd, adam and gradient-flow do; not multiplied by lrScale): only then is the training the flow of this Q. Given here, it must equal the optimizer's; with neither, the analysis fails rather than silently measure the unregularised objective.",
    ),
  maxParticles: z
    .number()
    .int()
    .positive()
    .default(512)
    .describe('Particles recorded per kind (attention, mlp), pooled over layers; all when fewer.'),
  seed: z
    .number()
    .int()
    .nonnegative()
    .default(0)
    .describe(
      "Seed of the subsample (the same particles at every evaluation of a run, so distances over time follow the same units) and of the figures' projection directions.",
    ),
  directions: z
    .number()
    .int()
    .min(2)
    .default(128)
    .describe("Random directions K of the figures' sliced Wasserstein distances."),
});

export type MeanFieldConfig = z.output<typeof meanFieldConfig>;

export type ParticleKind = ParticleGroup['kind'];
const KINDS: readonly ParticleKind[] = ['attention', 'mlp'];

/** A recorded subsample of one kind's particles. */
export interface ParticleSample {
  /** Particles of this kind in the model, over all layers. */
  total: number;
  /** Length of a recorded point: the particle's dimension + 1 (the depth t, last). */
  dimension: number;
  /** (θ, t) per recorded particle, ordered by layer and unit; float32 precision. */
  points: number[][];
}

export type MeanFieldData = {
  /** Training time: Σ of the learning rates, or the integrator's τ; null when not reported. */
  tau: number | null;
  /** Why tau is null. */
  tauReason?: string;
  /** R: the data loss of the analysis batch. */
  loss: number;
  /** Q = R + regularizer. */
  objective: number;
  /** (λ/2)(1/L) Σ_layers Σ_kinds (1/M_kind) Σ_j ‖θ_j‖². */
  regularizer: number;
  weightDecay: number;
  /** ‖∇R‖ over the trainable blocks. */
  gradNorm: number;
  /** ‖∇Q‖ over the trainable blocks (the regulariser acts on particle entries only). */
  objectiveGradNorm: number;
  /**
   * Σ_kinds (1/L) Σ_layers (1/M) Σ_j ‖v_j‖², v_j = −L·M ∇_{θ_j} R − λ θ_j: the squared
   * Wasserstein gradient norm of Q, = −dQ/dτ along the particle flow (0 at a stationary point).
   */
  stationarity: number;
  stationarityByKind: Partial<Record<ParticleKind, number>>;
  layers: number;
  heads: number;
  neurons: number;
  alpha: number;
  particles: Partial<Record<ParticleKind, ParticleSample>>;
};

function noParticles(what: string): TdxError {
  return new TdxError(
    'PLUGIN_CONTRACT',
    `the mean-field analysis needs a mean-field model, but the model has no ${what}`,
    {
      hint: 'give the model `parameterization: mean-field` (gpt, vit, text-transformer), or a custom model particles(values) and meanField ({ layers, heads, neurons, alpha }); else drop the mean-field analysis',
    },
  );
}

/** The model's particles at `values`, checked against its scaling. */
function particlesAt(model: Model, scaling: MeanFieldScaling, values: ParamValues, what: string) {
  const groups = model.particles!(values);
  if (!Array.isArray(groups) || groups.length === 0) throw noParticles(`particles (${what})`);
  for (const g of groups) {
    const M = g.kind === 'attention' ? scaling.heads : scaling.neurons;
    if (g.count !== M || g.values.length !== g.count * g.dimension || g.dimension < 1) {
      throw new TdxError(
        'PLUGIN_CONTRACT',
        `the model's ${g.kind} particles of layer ${g.layer} (${what}) are ${g.count} × ${g.dimension} with ${g.values.length} values, but meanField says M = ${M}`,
        {
          hint: 'particles() must give count × dimension values, count = meanField.heads (attention) or .neurons (mlp)',
        },
      );
    }
    if (!Number.isInteger(g.layer) || g.layer < 0 || g.layer >= scaling.layers) {
      throw new TdxError(
        'PLUGIN_CONTRACT',
        `the model's ${g.kind} particles name layer ${g.layer}, outside 0..${scaling.layers - 1}`,
      );
    }
  }
  for (const kind of KINDS) {
    const layers = groups.filter((g) => g.kind === kind).map((g) => g.layer);
    if (layers.length > 0 && new Set(layers).size !== scaling.layers) {
      throw new TdxError(
        'PLUGIN_CONTRACT',
        `the model gives ${kind} particles for layers [${layers.join(', ')}], not once for each of its ${scaling.layers} layers`,
      );
    }
  }
  return groups;
}

/** Same kinds, layers and shapes, in the same order: the split of two maps of equal shapes. */
function checkSameSplit(a: ParticleGroup[], b: ParticleGroup[], what: string): void {
  const same =
    a.length === b.length &&
    a.every(
      (g, i) =>
        g.kind === b[i]!.kind &&
        g.layer === b[i]!.layer &&
        g.count === b[i]!.count &&
        g.dimension === b[i]!.dimension,
    );
  if (!same) {
    throw new TdxError(
      'PLUGIN_CONTRACT',
      `the model splits ${what} into particles differently from its parameters`,
      { hint: 'particles(values) must split any map of the parameters’ shapes the same way' },
    );
  }
}

/**
 * The shortest decimal that rounds to the same float32: float32 precision, and short JSON
 * (0.1, not 0.10000000149011612).
 */
export function float32Json(x: number): number {
  const f = Math.fround(x);
  if (!Number.isFinite(f) || f === 0) return f;
  for (let p = 1; p < 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return Number(f.toPrecision(9));
}

/**
 * Up to `max` particles of one kind, pooled over layers, chosen by `seed` (the same indices
 * for the same counts), each as (θ, t) with t = (layer + 0.5)/L.
 */
export function sampleParticles(
  groups: readonly ParticleGroup[],
  layers: number,
  max: number,
  seed: number,
): ParticleSample | undefined {
  if (groups.length === 0) return undefined;
  const dimension = groups[0]!.dimension;
  if (groups.some((g) => g.dimension !== dimension)) {
    throw new TdxError(
      'PLUGIN_CONTRACT',
      `${groups[0]!.kind} particles differ in dimension between layers (${groups.map((g) => g.dimension).join(', ')})`,
    );
  }
  const ordered = [...groups].sort((a, b) => a.layer - b.layer);
  const index = ordered.flatMap((g, gi) => Array.from({ length: g.count }, (_, j) => [gi, j]));
  let chosen = index;
  if (index.length > max) {
    const order = new Rng(seed).shuffle(index.map((_, i) => i));
    chosen = order
      .slice(0, max)
      .sort((a, b) => a - b)
      .map((i) => index[i]!);
  }
  const points = chosen.map(([gi, j]) => {
    const g = ordered[gi!]!;
    const row = Array.from(g.values.subarray(j! * dimension, (j! + 1) * dimension), float32Json);
    row.push(float32Json((g.layer + 0.5) / layers));
    return row;
  });
  return { total: index.length, dimension: dimension + 1, points };
}

export function meanField(
  target: AnalysisTarget,
  config: MeanFieldConfig,
): AnalysisOutput & { value: number; data: MeanFieldData } {
  const model = target.model;
  if (typeof model.particles !== 'function') throw noParticles('particles(values)');
  const scaling = model.meanField;
  if (!scaling) throw noParticles('meanField scaling ({ layers, heads, neurons, alpha })');
  const L = scaling.layers;
  const metrics = target.optimizerMetrics?.();
  const reported = metrics?.weightDecay;
  const lambda = config.weightDecay ?? reported;
  if (lambda === undefined)
    throw new TdxError(
      'INVALID_ARGUMENT',
      "mean-field needs λ: the optimizer reports no weightDecay and the analysis's weightDecay is not set",
      { hint: 'set weightDecay on the analysis to the λ of the decay the training applies' },
    );
  if (typeof reported === 'number' && Math.abs(reported - lambda) > 1e-12 * Math.max(1, lambda)) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `mean-field's weightDecay ${lambda} differs from the optimizer's ${reported}`,
      {
        hint: 'Q is the objective the training minimises only with the optimizer’s λ: set them equal',
      },
    );
  }
  const tau = typeof metrics?.tau === 'number' ? metrics.tau : null;

  const params = target.params;
  const trainable = params.trainable();
  let loss = NaN;
  let gradSquared = 0;
  let thetas: ParticleGroup[] = [];
  let grads: ParticleGroup[] = [];
  let mask: ParticleGroup[] | undefined;
  tf.tidy(() => {
    const out = valueAndGrad(target.lossOn(target.analysisBatch()), params, { wrt: trainable });
    loss = out.value.dataSync()[0]!;
    // On the host in float64: ‖∇R‖² minus the particles' part below must not cancel in float32.
    for (const b of trainable.blocks)
      for (const x of out.grads[b.name]!.dataSync()) gradSquared += x * x;
    // Particles of the gradient: the model's split applied to a map of the parameters' shapes
    // (the contract's "any map of the same shapes"); frozen blocks have no gradient: zeros.
    const full: ParamValues = {};
    for (const b of params.blocks) full[b.name] = out.grads[b.name] ?? tf.zerosLike(b.variable);
    thetas = particlesAt(model, scaling, params.values(), 'the parameters');
    grads = particlesAt(model, scaling, full, 'the gradient');
    checkSameSplit(thetas, grads, 'the gradient');
    // Entries of frozen blocks do not move: a 0/1 mask split the same way keeps them out of the
    // velocity and of ∇Q.
    if (params.blocks.some((b) => b.frozen)) {
      const ones: ParamValues = {};
      for (const b of params.blocks)
        ones[b.name] = b.frozen ? tf.zerosLike(b.variable) : tf.onesLike(b.variable);
      mask = particlesAt(model, scaling, ones, 'a mask');
      checkSameSplit(thetas, mask, 'a 0/1 mask');
    }
  });

  let norms = 0; // Σ (1/(L·M)) ‖θ_j‖²
  let particleGradSquared = 0; // Σ ‖∇_{θ_j} R‖² over trainable entries
  let objectiveParticleSquared = 0; // Σ ‖∇_{θ_j} Q‖² over trainable entries
  const stationarityByKind: Partial<Record<ParticleKind, number>> = {};
  thetas.forEach((group, gi) => {
    const g = grads[gi]!.values;
    const m = mask?.[gi]!.values;
    const LM = L * group.count;
    let dissipation = 0;
    for (let i = 0; i < group.values.length; i++) {
      const theta = group.values[i]!;
      norms += (theta * theta) / LM;
      if (m !== undefined && m[i] === 0) continue;
      // dθ/dτ = −L·M ∇_θ Q_M = −L·M ∇_θ R − λθ, with Q_M the particle objective.
      const v = -LM * g[i]! - lambda * theta;
      dissipation += (v * v) / LM;
      particleGradSquared += g[i]! * g[i]!;
      objectiveParticleSquared += (v / LM) ** 2;
    }
    stationarityByKind[group.kind] = (stationarityByKind[group.kind] ?? 0) + dissipation;
  });
  const regularizer = (lambda / 2) * norms;
  // Entries outside the particles (embeddings, read-out, norms) have ∇Q = ∇R. This assumes
  // particles() holds each parameter entry at most once, as a split does.
  const outside = Math.max(0, gradSquared - particleGradSquared);

  const particles: Partial<Record<ParticleKind, ParticleSample>> = {};
  for (const kind of KINDS) {
    const seed = deriveSeed(config.seed, 'mean-field particles', kind);
    const sample = sampleParticles(
      thetas.filter((g) => g.kind === kind),
      L,
      config.maxParticles,
      seed,
    );
    if (sample) particles[kind] = sample;
  }

  const data: MeanFieldData = {
    tau,
    ...(tau === null
      ? {
          tauReason:
            'the optimizer reports no tau (AnalysisTarget.optimizerMetrics): figures use the step',
        }
      : {}),
    loss,
    objective: loss + regularizer,
    regularizer,
    weightDecay: lambda,
    gradNorm: Math.sqrt(gradSquared),
    objectiveGradNorm: Math.sqrt(outside + objectiveParticleSquared),
    stationarity: Object.values(stationarityByKind).reduce((s, x) => s + x, 0),
    stationarityByKind,
    layers: L,
    heads: scaling.heads,
    neurons: scaling.neurons,
    alpha: scaling.alpha,
    particles,
  };
  return { value: data.objective, data };
}

// ---------------------------------------------------------------------------------------------
// Across runs: the curves and particle distributions of successive sizes.

export type MeanFieldRuns = Array<{ run: RunIdentity; file: AnalysisFile }>;
type Entry = AnalysisFile['records'][number];

/** The time axis: τ when every record has it, else the step. */
export type TimeAxis = 'tau' | 'step';

export function timeAxis(runs: MeanFieldRuns): TimeAxis {
  return runs.every((r) => r.file.records.every((rec) => typeof rec.tau === 'number'))
    ? 'tau'
    : 'step';
}

const timeOf = (record: Entry, axis: TimeAxis): number =>
  axis === 'tau' ? (record.tau as number) : record.step;

/** A run group's size, from its first record. */
export interface SizedGroup {
  name: string;
  layers: number;
  heads: number;
  neurons: number;
  /** L·(heads + neurons): the number of particles. */
  size: number;
  runs: MeanFieldRuns;
}

// Short, so legends are not cut: `L2·M16` (heads = neurons) or `L2·M16/64`.
const sizeLabel = (g: SizedGroup) =>
  `L${g.layers}·M${g.heads}${g.neurons === g.heads ? '' : `/${g.neurons}`}`;

/**
 * The run groups ordered by size: particle count L·(heads + neurons), then L, heads, neurons.
 * Groups whose records carry no size come last, in their order.
 */
export function sizedGroups(runs: MeanFieldRuns): SizedGroup[] {
  const groups = groupRuns(runs.map((r) => ({ group: r.run.group, ...r })));
  return groups
    .map((g) => {
      const first = g.runs.flatMap((r) => r.file.records)[0];
      const n = (key: string) => (typeof first?.[key] === 'number' ? (first[key] as number) : NaN);
      const [layers, heads, neurons] = [n('layers'), n('heads'), n('neurons')];
      return {
        name: g.name,
        layers,
        heads,
        neurons,
        size: layers * (heads + neurons),
        runs: g.runs.map(({ run, file }) => ({ run, file })),
      };
    })
    .sort((a, b) => {
      const key = (g: SizedGroup) => [g.size, g.layers, g.heads, g.neurons];
      const [ka, kb] = [key(a), key(b)];
      for (let i = 0; i < ka.length; i++) {
        const [x, y] = [ka[i]!, kb[i]!];
        if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
        if (x !== y && !Number.isNaN(x)) return x - y;
      }
      return 0;
    });
}

/** A group's curve of `field` against time: the mean over its seeds at each time. */
function groupCurve(group: SizedGroup, field: string, axis: TimeAxis): Point[] {
  return groupSeries(
    { name: group.name, runs: group.runs.map((r) => ({ group: group.name, ...r })) },
    (r) =>
      r.file.records.flatMap((rec) =>
        typeof rec[field] === 'number' ? [{ x: timeOf(rec, axis), y: rec[field] as number }] : [],
      ),
  ).points;
}

/** Linear interpolation of a curve (ascending x) at x inside its range. */
export function interpolate(curve: readonly Point[], x: number): number {
  let lo = 0;
  let hi = curve.length - 1;
  if (x <= curve[lo]!.x) return curve[lo]!.y;
  if (x >= curve[hi]!.x) return curve[hi]!.y;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (curve[mid]!.x <= x) lo = mid;
    else hi = mid;
  }
  const [a, b] = [curve[lo]!, curve[hi]!];
  return a.y + ((x - a.x) / (b.x - a.x)) * (b.y - a.y);
}

export interface CurveGap {
  from: string;
  to: string;
  fromSize: number;
  toSize: number;
  /** The common time points: the union of both curves' times inside both ranges. */
  points: number;
  range: [number, number] | null;
  /** max and mean over those points of |curve_from(t) − curve_to(t)| (linear in t); null without. */
  max: number | null;
  mean: number | null;
}

/**
 * For each pair of successive sizes (see sizedGroups), how far apart their curves of `measure`
 * (`loss`: R, `objective`: Q; means over seeds) are on their common time range: both curves
 * interpolated linearly at the union of their times there. The mean-field limit predicts gaps
 * that shrink as the sizes grow.
 */
export function curveGaps(
  runs: MeanFieldRuns,
  measure: 'loss' | 'objective' = 'loss',
): { axis: TimeAxis; pairs: CurveGap[] } {
  const axis = timeAxis(runs);
  const groups = sizedGroups(runs);
  const curves = groups.map((g) => groupCurve(g, measure, axis));
  const pairs: CurveGap[] = [];
  for (let i = 0; i + 1 < groups.length; i++) {
    const [a, b] = [curves[i]!, curves[i + 1]!];
    const base = {
      from: groups[i]!.name,
      to: groups[i + 1]!.name,
      fromSize: groups[i]!.size,
      toSize: groups[i + 1]!.size,
    };
    const lo = a.length && b.length ? Math.max(a[0]!.x, b[0]!.x) : Infinity;
    const hi = a.length && b.length ? Math.min(a[a.length - 1]!.x, b[b.length - 1]!.x) : -Infinity;
    const xs = [...new Set([...a, ...b].map((p) => p.x).filter((x) => x >= lo && x <= hi))];
    if (xs.length === 0) {
      pairs.push({ ...base, points: 0, range: null, max: null, mean: null });
      continue;
    }
    const gaps = xs.map((x) => Math.abs(interpolate(a, x) - interpolate(b, x)));
    pairs.push({
      ...base,
      points: xs.length,
      range: [lo, hi],
      max: Math.max(...gaps),
      mean: gaps.reduce((s, g) => s + g, 0) / gaps.length,
    });
  }
  return { axis, pairs };
}

function particleCloud(
  record: Entry,
  kind: ParticleKind,
): { values: Float64Array; dimension: number } | undefined {
  const sample = (record.particles as MeanFieldData['particles'] | undefined)?.[kind];
  if (!sample || sample.points.length === 0) return undefined;
  const values = Float64Array.from(sample.points.flat());
  // A diverged run's particles (null in JSON) have no distribution to compare.
  if (
    !values.every((x) => Number.isFinite(x)) ||
    values.length !== sample.points.length * sample.dimension
  )
    return undefined;
  return { values, dimension: sample.dimension };
}

/** Options of the particle distances; by default those recorded in the files' config. */
export interface ParticleDistanceOptions {
  directions?: number;
  seed?: number;
}

/**
 * The K unit directions in R^dimension that the particle distances project on, drawn from
 * `seed` and the dimension alone: the same in every figure and table.
 */
export function particleDirections(dimension: number, count: number, seed: number): Float64Array {
  return randomDirections(dimension, count, deriveSeed(seed, 'sliced', dimension));
}

/** Sorted projections on shared directions, computed once per record and kind. */
function projector(runs: MeanFieldRuns, options: ParticleDistanceOptions) {
  const config = runs[0]?.file.config ?? {};
  const K = options.directions ?? (typeof config.directions === 'number' ? config.directions : 128);
  const seed = options.seed ?? (typeof config.seed === 'number' ? config.seed : 0);
  const directions = new Map<number, Float64Array>();
  const cache = new WeakMap<Entry, Map<ParticleKind, Float64Array[] | null>>();
  const project = (record: Entry, kind: ParticleKind): Float64Array[] | null => {
    let byKind = cache.get(record);
    if (!byKind) cache.set(record, (byKind = new Map()));
    if (byKind.has(kind)) return byKind.get(kind)!;
    const cloud = particleCloud(record, kind);
    let out: Float64Array[] | null = null;
    if (cloud) {
      let u = directions.get(cloud.dimension);
      if (!u) {
        // One set of directions per dimension, from the seed alone: the same in every figure.
        u = particleDirections(cloud.dimension, K, seed);
        directions.set(cloud.dimension, u);
      }
      out = sortedProjections(cloud, u);
    }
    byKind.set(kind, out);
    return out;
  };
  const distance = (a: Entry, b: Entry, kind: ParticleKind): SlicedWasserstein | undefined => {
    const [pa, pb] = [project(a, kind), project(b, kind)];
    if (!pa || !pb || pa[0]!.length === 0) return undefined;
    // Different dimensions (heads of other widths) are different spaces: no distance.
    const da = (a.particles as MeanFieldData['particles'])[kind]!.dimension;
    const db = (b.particles as MeanFieldData['particles'])[kind]!.dimension;
    return da === db ? slicedWassersteinFromProjections(pa, pb) : undefined;
  };
  return { distance, directions: K, seed };
}

/** Records of two runs at the same training time: equal τ (relative 1e-6), else equal step. */
function matchRecords(a: readonly Entry[], b: readonly Entry[]): Array<[Entry, Entry]> {
  const out: Array<[Entry, Entry]> = [];
  for (const ra of a) {
    const rb = b.find((r) =>
      typeof ra.tau === 'number' && typeof r.tau === 'number'
        ? Math.abs(ra.tau - r.tau) <= 1e-6 * Math.max(Math.abs(ra.tau), Math.abs(r.tau))
        : ra.step === r.step,
    );
    if (rb) out.push([ra, rb]);
  }
  return out;
}

export interface DistancePoint {
  /** τ (or the step, see axis) of the records compared. */
  time: number;
  /** Mean over the run pairs (seeds) of SW2. */
  distance: number;
  /** The lowest and highest over the run pairs. */
  lo: number;
  hi: number;
  /** Mean over the run pairs of SW2's Monte-Carlo standard error. */
  standardError: number;
  /** Run pairs behind the mean. */
  runs: number;
}

export interface ParticleDistance {
  from: string;
  to: string;
  kind: ParticleKind;
  points: DistancePoint[];
}

function summarise(byTime: Map<number, SlicedWasserstein[]>): DistancePoint[] {
  return [...byTime]
    .sort(([x], [y]) => x - y)
    .map(([time, sws]) => {
      const d = sws.map((s) => s.distance);
      return {
        time,
        distance: d.reduce((s, x) => s + x, 0) / d.length,
        lo: Math.min(...d),
        hi: Math.max(...d),
        standardError: sws.reduce((s, x) => s + x.standardError, 0) / sws.length,
        runs: sws.length,
      };
    });
}

const bySeed = (g: SizedGroup) => [...g.runs].sort((x, y) => x.run.seed - y.run.seed);

/**
 * The sliced 2-Wasserstein distance between the recorded particle distributions over (θ, t) of
 * successive sizes, per kind, at equal training time; the i-th seed of one group against the
 * i-th of the other (by seed), averaged. Directions: `directions` (K) from `seed`, by default
 * the files' config; the same for every pair and time.
 */
export function particleDistances(
  runs: MeanFieldRuns,
  options: ParticleDistanceOptions = {},
): { axis: TimeAxis; directions: number; pairs: ParticleDistance[] } {
  const axis = timeAxis(runs);
  const groups = sizedGroups(runs);
  const { distance, directions } = projector(runs, options);
  const pairs: ParticleDistance[] = [];
  for (let i = 0; i + 1 < groups.length; i++) {
    const [ga, gb] = [groups[i]!, groups[i + 1]!];
    const [ra, rb] = [bySeed(ga), bySeed(gb)];
    for (const kind of KINDS) {
      const byTime = new Map<number, SlicedWasserstein[]>();
      for (let s = 0; s < Math.min(ra.length, rb.length); s++) {
        for (const [a, b] of matchRecords(ra[s]!.file.records, rb[s]!.file.records)) {
          const sw = distance(a, b, kind);
          if (!sw) continue;
          const t = timeOf(a, axis);
          byTime.set(t, [...(byTime.get(t) ?? []), sw]);
        }
      }
      if (byTime.size > 0)
        pairs.push({ from: ga.name, to: gb.name, kind, points: summarise(byTime) });
    }
  }
  return { axis, directions, pairs };
}

export interface ParticleDrift {
  run: string;
  group: string;
  kind: ParticleKind;
  /** SW2 between the particles at each evaluation and at step 0 (τ = 0). */
  points: Array<{ time: number; step: number; distance: number; standardError: number }>;
}

/**
 * Within each run, how far the particle distribution moved: SW2 between each evaluation's
 * particles and those at step 0 (the run must be evaluated at step 0; runs without are left out).
 */
export function particleDrift(
  runs: MeanFieldRuns,
  options: ParticleDistanceOptions = {},
): { axis: TimeAxis; directions: number; runs: ParticleDrift[] } {
  const axis = timeAxis(runs);
  const { distance, directions } = projector(runs, options);
  const out: ParticleDrift[] = [];
  for (const { run, file } of runs) {
    const start = file.records.find((r) => r.step === 0);
    if (!start) continue;
    for (const kind of KINDS) {
      const points = file.records.flatMap((r) => {
        const sw = distance(start, r, kind);
        return sw
          ? [
              {
                time: timeOf(r, axis),
                step: r.step,
                distance: sw.distance,
                standardError: sw.standardError,
              },
            ]
          : [];
      });
      if (points.length > 0) out.push({ run: run.label, group: run.group, kind, points });
    }
  }
  return { axis, directions, runs: out };
}

const fmt = (x: number | null) => (x === null ? '–' : x.toPrecision(3));

/** The figures: R and Q against τ; curve gaps between sizes; particle distances; drift. */
export function meanFieldFigures(runs: MeanFieldRuns): FigureSpec[] {
  if (runs.length === 0) return [];
  const label = runs[0]!.file.label;
  const axis = timeAxis(runs);
  const xLabel = axis === 'tau' ? 'training time τ' : 'step';
  const axisNote =
    axis === 'tau' ? '' : ' Some runs report no τ (optimizerMetrics): the x axis is the step.';
  const groups = sizedGroups(runs);
  const asGroups = groups.map((g) => ({
    name: g.name,
    runs: g.runs.map((r) => ({ group: g.name, ...r })),
  }));
  const curve = (field: string) => (r: { file: AnalysisFile }) =>
    r.file.records.flatMap((rec) =>
      typeof rec[field] === 'number' ? [{ x: timeOf(rec, axis), y: rec[field] as number }] : [],
    );
  const figures: FigureSpec[] = [
    {
      kind: 'lines',
      id: `${label}-objective`,
      title: 'Data loss R and regularised objective Q against training time',
      caption: `R (the analysis batch's loss) and Q = R + (λ/2)∫∫‖θ‖²ρ_t(dθ)dt of the particles, per run group in order of size; in the mean-field limit the curves of growing sizes converge.${axisNote} ${seedsCaption(asGroups)}`,
      x: { label: xLabel },
      y: { label: 'R, Q', log: true },
      series: asGroups.flatMap((g) => [
        { ...groupSeries(g, curve('loss')), name: `${g.name} R` },
        { ...groupSeries(g, curve('objective')), name: `${g.name} Q` },
      ]),
    },
  ];
  if (groups.length >= 2) {
    const gaps = { loss: curveGaps(runs, 'loss'), objective: curveGaps(runs, 'objective') };
    const sizes = gaps.loss.pairs.map((p) => p.toSize);
    const bySize = sizes.every((s, i) => Number.isFinite(s) && (i === 0 || s > sizes[i - 1]!));
    const x = (i: number) => (bySize ? sizes[i]! : i + 1);
    const line = (name: string, pairs: CurveGap[], key: 'max' | 'mean'): Series => ({
      name,
      points: pairs.flatMap((p, i) => (p[key] === null ? [] : [{ x: x(i), y: p[key] }])),
    });
    const listing = gaps.loss.pairs
      .map(
        (p, i) =>
          `${i + 1}: ${sizeLabel(groups[i]!)} → ${sizeLabel(groups[i + 1]!)}, |ΔR| max ${fmt(p.max)} mean ${fmt(p.mean)}, |ΔQ| max ${fmt(gaps.objective.pairs[i]!.max)} mean ${fmt(gaps.objective.pairs[i]!.mean)}`,
      )
      .join('; ');
    figures.push({
      kind: 'lines',
      id: `${label}-curve-gaps`,
      title: 'Distance between the training curves of successive sizes',
      caption: `For each pair of successive sizes (particle count L·(heads + neurons)), the max and mean of |R_a − R_b| and |Q_a − Q_b| over their common ${axis === 'tau' ? 'τ' : 'step'} range, curves (means over seeds) interpolated linearly at the union of their evaluation times. Pairs: ${listing}.${axisNote}`,
      x: { label: bySize ? 'size of the larger model, L·(heads + neurons)' : 'pair' },
      y: { label: 'gap', log: true },
      series: [
        line('max |ΔR|', gaps.loss.pairs, 'max'),
        line('mean |ΔR|', gaps.loss.pairs, 'mean'),
        line('max |ΔQ|', gaps.objective.pairs, 'max'),
        line('mean |ΔQ|', gaps.objective.pairs, 'mean'),
      ],
    });
    const distances = particleDistances(runs);
    if (distances.pairs.length > 0) {
      const name = (p: ParticleDistance) => {
        const [a, b] = [
          groups.find((g) => g.name === p.from)!,
          groups.find((g) => g.name === p.to)!,
        ];
        return `${sizeLabel(a)} → ${sizeLabel(b)} ${p.kind}`;
      };
      figures.push({
        kind: 'lines',
        id: `${label}-size-distance`,
        title: 'Sliced Wasserstein distance between the particle distributions of successive sizes',
        caption: `SW2 between the recorded particles (θ, t) of successive sizes at equal ${axis === 'tau' ? 'τ' : 'step'}, per kind (attention heads, MLP neurons), mean over seed pairs with the band from the lowest to the highest; ${distances.directions} random directions (typical Monte-Carlo standard error ${fmt(medianError(distances.pairs.flatMap((p) => p.points)))}).${axisNote}`,
        x: { label: xLabel },
        y: { label: 'SW2' },
        series: distances.pairs.map((p) => ({
          name: name(p),
          points: p.points.map((q) => ({ x: q.time, y: q.distance })),
          ...(p.points.some((q) => q.runs > 1)
            ? { band: p.points.map((q) => ({ x: q.time, lo: q.lo, hi: q.hi })) }
            : {}),
        })),
      });
    }
  }
  const drift = particleDrift(runs);
  if (drift.runs.length > 0) {
    const series = groups.flatMap((g) =>
      KINDS.flatMap((kind) => {
        const members = drift.runs.filter((d) => d.group === g.name && d.kind === kind);
        if (members.length === 0) return [];
        const s = groupSeries(
          { name: g.name, runs: members.map((m) => ({ ...m, group: g.name })) },
          (m) => m.points.map((p) => ({ x: p.time, y: p.distance })),
        );
        return [{ ...s, name: `${g.name} ${kind}` }];
      }),
    );
    figures.push({
      kind: 'lines',
      id: `${label}-drift`,
      title: 'How far the particle distribution moved from initialisation',
      caption: `SW2 between the particles (θ, t) at each evaluation and at step 0, per run group and kind (runs not evaluated at step 0 are left out); ${drift.directions} random directions (typical Monte-Carlo standard error ${fmt(medianError(drift.runs.flatMap((d) => d.points)))}).${axisNote} ${seedsCaption(asGroups)}`,
      x: { label: xLabel },
      y: { label: 'SW2 to step 0' },
      series,
    });
  }
  return figures;
}

function medianError(points: ReadonlyArray<{ standardError: number }>): number | null {
  const e = points
    .map((p) => p.standardError)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return e.length === 0 ? null : e[Math.floor((e.length - 1) / 2)]!;
}

export const meanFieldPlugin = definePlugin({
  kind: 'analysis',
  name: 'mean-field',
  title: 'mean-field objective Q',
  description:
    'mean-field Transformers (Gao et al. 2024): τ, R, Q = R + (λ/2)∫‖θ‖², ‖∇R‖, ‖∇Q‖, the Wasserstein stationarity gap, and particle samples; figures compare sizes',
  config: meanFieldConfig,
  create: (config): AnalysisInstance => ({
    run: (target) => meanField(target as AnalysisTarget, config),
    figures: meanFieldFigures,
  }),
});
