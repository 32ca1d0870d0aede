/** The mean-field analysis's config and the record of one evaluation (Gao et al. 2024). */
import { z } from '@tdx/core';
import type { ParticleGroup } from '@tdx/tensor';

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
/** The particle kinds, in the order they are recorded and compared. */
export const KINDS: readonly ParticleKind[] = ['attention', 'mlp'];

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
