/**
 * The mean-field capability of a model: its exchangeable units as particles and how it scales.
 * Models with `parameterization: mean-field` offer it and the mean-field analysis needs it;
 * the two packages never import each other, so the contract lives here, next to Model, apart
 * from what every model offers.
 */
import type { Model } from './contracts.js';
import type { ParamValues } from './param-set.js';

/**
 * Exchangeable units of a mean-field model, as points ("particles"): each attention head's or
 * MLP neuron's parameters flattened into one vector. The empirical distribution of these
 * points is what the mean-field limit describes.
 */
export interface ParticleGroup {
  /** `attention` (one particle per head) or `mlp` (one per neuron). */
  kind: 'attention' | 'mlp';
  layer: number;
  /** M: the number of particles; their count at this layer. */
  count: number;
  /** Length of one particle vector. */
  dimension: number;
  /** count × dimension, row-major, float64 on the host. */
  values: Float64Array;
}

/** How a mean-field model scales (see the models' `parameterization: mean-field`). */
export interface MeanFieldScaling {
  /** L: residual blocks. */
  layers: number;
  /** M of the attention sublayers (heads) and of the MLP sublayers (neurons). */
  heads: number;
  neurons: number;
  /** α: each branch is (α / (L·M)) Σ_j f(H; θ_j). */
  alpha: number;
}

/** What a mean-field model adds to a Model. */
export interface MeanField {
  /** The particles at `values` (the parameters, or any map of the same shapes). */
  particles(values: ParamValues): ParticleGroup[];
  meanField: MeanFieldScaling;
}

export type MeanFieldModel = Model & MeanField;

/** What a model lacks of the mean-field capability (empty when it has it all). */
export function missingMeanField(model: Model): Array<keyof MeanField> {
  const missing: Array<keyof MeanField> = [];
  if (!('particles' in model) || typeof model.particles !== 'function') missing.push('particles');
  if (!('meanField' in model) || !model.meanField) missing.push('meanField');
  return missing;
}

export function isMeanFieldModel(model: Model): model is MeanFieldModel {
  return missingMeanField(model).length === 0;
}
