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
 *
 * The parts live in ../mean-field/: config.ts (config and record), particles.ts (the model's
 * split, checked, and the recorded subsample), evaluate.ts (one evaluation), curves.ts (run
 * groups by size and the gaps between their curves), distances.ts (sliced Wasserstein
 * distances between particle distributions) and figures.ts.
 */
import { definePlugin, type AnalysisInstance } from '@tdx/core';
import { meanFieldConfig } from '../mean-field/config.js';
import { meanField } from '../mean-field/evaluate.js';
import { meanFieldFigures } from '../mean-field/figures.js';

export {
  meanFieldConfig,
  type MeanFieldConfig,
  type MeanFieldData,
  type ParticleKind,
  type ParticleSample,
} from '../mean-field/config.js';
export { float32Json, sampleParticles } from '../mean-field/particles.js';
export { meanField, particleSums, type ParticleSums } from '../mean-field/evaluate.js';
export {
  curveGaps,
  interpolate,
  sizedGroups,
  timeAxis,
  type CurveGap,
  type MeanFieldRuns,
  type SizedGroup,
  type TimeAxis,
} from '../mean-field/curves.js';
export {
  particleDirections,
  particleDistances,
  particleDrift,
  type DistancePoint,
  type ParticleDistance,
  type ParticleDistanceOptions,
  type ParticleDrift,
} from '../mean-field/distances.js';
export { meanFieldFigures } from '../mean-field/figures.js';

export const meanFieldPlugin = definePlugin({
  kind: 'analysis',
  name: 'mean-field',
  title: 'mean-field objective Q',
  description:
    'mean-field Transformers (Gao et al. 2024): τ, R, Q = R + (λ/2)∫‖θ‖², ‖∇R‖, ‖∇Q‖, the Wasserstein stationarity gap, and particle samples; figures compare sizes',
  config: meanFieldConfig,
  create: (config): AnalysisInstance => ({
    run: (target) => meanField(target, config),
    figures: meanFieldFigures,
  }),
});
