/**
 * One evaluation of the mean-field analysis: R, Q, ‖∇R‖, ‖∇Q‖ and the Wasserstein stationarity
 * gap of the particles at the current parameters, with the recorded particle subsample.
 */
import { deriveSeed, TdxError, type AnalysisOutput } from '@tdx/core';
import {
  tf,
  valueAndGrad,
  type AnalysisTarget,
  isMeanFieldModel,
  missingMeanField,
  type MeanFieldModel,
  type Model,
  type ParamValues,
  type ParticleGroup,
} from '@tdx/tensor';
import {
  KINDS,
  type MeanFieldConfig,
  type MeanFieldData,
  type ParticleKind,
  type ParticleSample,
} from './config.js';
import { checkSameSplit, noParticles, particlesAt, sampleParticles } from './particles.js';

/** The model as a mean-field model, or an error naming what the model lacks. */
function meanFieldModel(model: Model): MeanFieldModel {
  if (isMeanFieldModel(model)) return model;
  const [missing] = missingMeanField(model);
  throw noParticles(
    missing === 'particles'
      ? 'particles(values)'
      : 'meanField scaling ({ layers, heads, neurons, alpha })',
  );
}

/**
 * λ of Q (the config's, else the optimizer's reported weightDecay; both must agree) and the
 * training time τ the optimizer reports (null without).
 */
function decayAndTime(
  target: AnalysisTarget,
  config: MeanFieldConfig,
): { lambda: number; tau: number | null } {
  const metrics = target.optimizerMetrics?.();
  const reported = target.optimizerHyperparameters?.().weightDecay;
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
  return { lambda, tau: typeof metrics?.tau === 'number' ? metrics.tau : null };
}

/** R, ‖∇R‖², and the particles of θ, of ∇R and (with frozen blocks) of a 0/1 mask. */
interface GradientParticles {
  loss: number;
  gradSquared: number;
  thetas: ParticleGroup[];
  grads: ParticleGroup[];
  mask?: ParticleGroup[];
}

function gradientParticles(target: AnalysisTarget, model: MeanFieldModel): GradientParticles {
  const params = target.params;
  const trainable = params.trainable();
  const result: GradientParticles = { loss: NaN, gradSquared: 0, thetas: [], grads: [] };
  // The result is filled inside the tidy, not returned from it: tf.tidy walks a returned object
  // element by element in search of tensors.
  tf.tidy(() => {
    const out = valueAndGrad(target.lossOn(target.analysisBatch()), params, { wrt: trainable });
    result.loss = out.value.dataSync()[0]!;
    // On the host in float64: ‖∇R‖² minus the particles' part below must not cancel in float32.
    for (const b of trainable.blocks)
      for (const x of out.grads[b.name]!.dataSync()) result.gradSquared += x * x;
    // Particles of the gradient: the model's split applied to a map of the parameters' shapes
    // (the contract's "any map of the same shapes"); frozen blocks have no gradient: zeros.
    const full: ParamValues = {};
    for (const b of params.blocks) full[b.name] = out.grads[b.name] ?? tf.zerosLike(b.variable);
    result.thetas = particlesAt(model, params.values(), 'the parameters');
    result.grads = particlesAt(model, full, 'the gradient');
    checkSameSplit(result.thetas, result.grads, 'the gradient');
    // Entries of frozen blocks do not move: a 0/1 mask split the same way keeps them out of the
    // velocity and of ∇Q.
    if (params.blocks.some((b) => b.frozen)) {
      const ones: ParamValues = {};
      for (const b of params.blocks)
        ones[b.name] = b.frozen ? tf.zerosLike(b.variable) : tf.onesLike(b.variable);
      result.mask = particlesAt(model, ones, 'a mask');
      checkSameSplit(result.thetas, result.mask, 'a 0/1 mask');
    }
  });
  return result;
}

/** The particle sums of one evaluation (see particleSums). */
export interface ParticleSums {
  /** Σ_j (1/(L·M)) ‖θ_j‖². */
  norms: number;
  /** Σ_j ‖∇_{θ_j} R‖² over trainable entries. */
  particleGradSquared: number;
  /** Σ_j ‖∇_{θ_j} Q‖² over trainable entries. */
  objectiveParticleSquared: number;
  /** Per kind, (1/L) Σ_layers (1/M) Σ_j ‖v_j‖², v_j = −L·M ∇_{θ_j} R − λ θ_j. */
  stationarityByKind: Partial<Record<ParticleKind, number>>;
}

/**
 * The sums over particles behind Q, ‖∇Q‖ and the stationarity gap, from the particles θ_j, their
 * gradients ∇_{θ_j} R and an optional 0/1 mask (0: a frozen entry, left out of the velocity and
 * the gradients), in float64 on the host. `layers` is L; each group's count is its M.
 */
export function particleSums(
  thetas: readonly ParticleGroup[],
  grads: readonly ParticleGroup[],
  mask: readonly ParticleGroup[] | undefined,
  layers: number,
  lambda: number,
): ParticleSums {
  const sums: ParticleSums = {
    norms: 0,
    particleGradSquared: 0,
    objectiveParticleSquared: 0,
    stationarityByKind: {},
  };
  thetas.forEach((group, gi) => {
    const g = grads[gi]!.values;
    const m = mask?.[gi]!.values;
    const LM = layers * group.count;
    let dissipation = 0;
    for (let i = 0; i < group.values.length; i++) {
      const theta = group.values[i]!;
      sums.norms += (theta * theta) / LM;
      if (m !== undefined && m[i] === 0) continue;
      // dθ/dτ = −L·M ∇_θ Q_M = −L·M ∇_θ R − λθ, with Q_M the particle objective.
      const v = -LM * g[i]! - lambda * theta;
      dissipation += (v * v) / LM;
      sums.particleGradSquared += g[i]! * g[i]!;
      sums.objectiveParticleSquared += (v / LM) ** 2;
    }
    sums.stationarityByKind[group.kind] = (sums.stationarityByKind[group.kind] ?? 0) + dissipation;
  });
  return sums;
}

/** The recorded subsample of each kind's particles, from the config's seed. */
function recordedParticles(
  thetas: readonly ParticleGroup[],
  layers: number,
  config: MeanFieldConfig,
): Partial<Record<ParticleKind, ParticleSample>> {
  const particles: Partial<Record<ParticleKind, ParticleSample>> = {};
  for (const kind of KINDS) {
    const seed = deriveSeed(config.seed, 'mean-field particles', kind);
    const sample = sampleParticles(
      thetas.filter((g) => g.kind === kind),
      layers,
      config.maxParticles,
      seed,
    );
    if (sample) particles[kind] = sample;
  }
  return particles;
}

export function meanField(
  target: AnalysisTarget,
  config: MeanFieldConfig,
): AnalysisOutput & { value: number; data: MeanFieldData } {
  const model = meanFieldModel(target.model);
  const scaling = model.meanField;
  const L = scaling.layers;
  const { lambda, tau } = decayAndTime(target, config);
  const { loss, gradSquared, thetas, grads, mask } = gradientParticles(target, model);
  const sums = particleSums(thetas, grads, mask, L, lambda);
  const regularizer = (lambda / 2) * sums.norms;
  // Entries outside the particles (embeddings, read-out, norms) have ∇Q = ∇R. This assumes
  // particles() holds each parameter entry at most once, as a split does.
  const outside = Math.max(0, gradSquared - sums.particleGradSquared);
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
    objectiveGradNorm: Math.sqrt(outside + sums.objectiveParticleSquared),
    stationarity: Object.values(sums.stationarityByKind).reduce((s, x) => s + x, 0),
    stationarityByKind: sums.stationarityByKind,
    layers: L,
    heads: scaling.heads,
    neurons: scaling.neurons,
    alpha: scaling.alpha,
    particles: recordedParticles(thetas, L, config),
  };
  return { value: data.objective, data };
}
