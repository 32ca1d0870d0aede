/**
 * Random Gaussian directions in parameter space, normalised as in Li et al. (2018),
 * "Visualizing the Loss Landscape of Neural Nets", and their code (tomgoldstein/loss-landscape,
 * net_plotter.py):
 *
 * - `filter`: each filter d_f of the draw is rescaled to the norm of the same filter of the
 *   current weights, d_f ← r_f · ‖w_f‖ / ‖r_f‖ (filters: see filters.ts). A filter whose weights
 *   are all zero gets a zero direction.
 * - `layer`: each block (tensor) as a whole, d ← r · ‖w‖ / ‖r‖.
 * - `none`: the raw draw.
 *
 * One-dimensional blocks (biases, norm gains; rank ≤ 1, as `d.dim() <= 1` in their code):
 * - `zero`: no move along them (their default, `ignore: biasbn`);
 * - `filter`: normalised like the other blocks; under `filter` each entry is its own filter,
 *   d_i = sign(r_i) · |w_i| (what their normalize_direction does to a 1-D tensor);
 * - `keep`: the raw draw, whatever the normalisation;
 * - `weights`: d = w (their code when `ignore` is not biasbn: `d.copy_(w)`).
 * `zero`, `filter` and `weights` all scale with a unit when the unit's weights and bias are
 * scaled together, which keeps filter normalisation invariant to ReLU rescalings (tested).
 *
 * Norms are computed in float64 from the float32 weights; the draw is one Rng stream over the
 * trainable blocks in order, so a seed gives the same direction on every backend.
 */
import { norm, Rng } from '@tdx/tensor';
import { filterLayout, filterNorms, isOneDimensional } from './filters.js';

export const NORMALIZATIONS = ['filter', 'layer', 'none'] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];
export const ONE_DIMENSIONAL = ['zero', 'filter', 'keep', 'weights'] as const;
export type OneDimensional = (typeof ONE_DIMENSIONAL)[number];

/** How a block's direction was made: its normalisation, or what happened to a 1-D block. */
export type BlockTreatment = Normalization | 'zero' | 'keep' | 'weights';

export interface DirectionBlock {
  name: string;
  shape: readonly number[];
  /** The block's current values (float32, row-major). */
  weights: ArrayLike<number>;
}

export interface BlockDirectionInfo {
  name: string;
  shape: number[];
  treatment: BlockTreatment;
  /** ‖w_b‖ and ‖d_b‖ over the block. */
  weightNorm: number;
  directionNorm: number;
}

/** The normalised direction of one block from its raw draw r (a new array). */
export function normalizeBlockDirection(
  raw: Float64Array,
  weights: ArrayLike<number>,
  shape: readonly number[],
  normalization: Normalization,
  oneDimensional: OneDimensional,
): { direction: Float64Array; treatment: BlockTreatment } {
  let treatment: BlockTreatment = normalization;
  if (isOneDimensional(shape) && oneDimensional !== 'filter') treatment = oneDimensional;
  const d = new Float64Array(raw.length);
  switch (treatment) {
    case 'zero':
      break;
    case 'keep':
    case 'none':
      d.set(raw);
      break;
    case 'weights':
      for (let i = 0; i < d.length; i++) d[i] = weights[i]!;
      break;
    case 'layer': {
      const r = norm(raw);
      const scale = r > 0 ? norm(weights) / r : 0;
      for (let i = 0; i < d.length; i++) d[i] = raw[i]! * scale;
      break;
    }
    case 'filter': {
      const { filterOf } = filterLayout(shape);
      const rNorms = filterNorms(raw, shape);
      const wNorms = filterNorms(weights, shape);
      for (let i = 0; i < d.length; i++) {
        const f = filterOf(i);
        d[i] = rNorms[f]! > 0 ? (raw[i]! * wNorms[f]!) / rNorms[f]! : 0;
      }
      break;
    }
  }
  return { direction: d, treatment };
}

/**
 * A random direction over the given blocks (in order), flattened like ParamSet.flatten(): one
 * standard normal draw per entry from Rng(seed), then normalised block by block.
 */
export function randomDirection(
  blocks: readonly DirectionBlock[],
  options: { seed: number; normalization: Normalization; oneDimensional: OneDimensional },
): { vector: Float64Array; blocks: BlockDirectionInfo[] } {
  const rng = new Rng(options.seed);
  const size = blocks.reduce((n, b) => n + b.weights.length, 0);
  const vector = new Float64Array(size);
  let offset = 0;
  const info = blocks.map((b) => {
    const raw = rng.normalArray(b.weights.length);
    const { direction, treatment } = normalizeBlockDirection(
      raw,
      b.weights,
      b.shape,
      options.normalization,
      options.oneDimensional,
    );
    vector.set(direction, offset);
    offset += direction.length;
    return {
      name: b.name,
      shape: [...b.shape],
      treatment,
      weightNorm: norm(b.weights),
      directionNorm: norm(direction),
    };
  });
  return { vector, blocks: info };
}
