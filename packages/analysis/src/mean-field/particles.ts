/**
 * The model's particles: read through its `particles(values)` split, checked against its
 * mean-field scaling, and the seeded subsample an evaluation records, as (θ, t) points.
 */
import { TdxError } from '@tdx/core';
import { Rng, type MeanFieldModel, type ParamValues, type ParticleGroup } from '@tdx/tensor';
import { KINDS, type ParticleSample } from './config.js';

export function noParticles(what: string): TdxError {
  return new TdxError(
    'PLUGIN_CONTRACT',
    `the mean-field analysis needs a mean-field model, but the model has no ${what}`,
    {
      hint: 'give the model `parameterization: mean-field` (gpt, vit, text-transformer), or a custom model particles(values) and meanField ({ layers, heads, neurons, alpha }); else drop the mean-field analysis',
    },
  );
}

/** The model's particles at `values`, checked against its scaling. */
export function particlesAt(model: MeanFieldModel, values: ParamValues, what: string) {
  const scaling = model.meanField;
  const groups = model.particles(values);
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
export function checkSameSplit(a: ParticleGroup[], b: ParticleGroup[], what: string): void {
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
