/**
 * Curvature operators built from exact Hessian-vector products: the Hessian over a set of
 * parameter blocks, a block's principal sub-matrix H_bb (a named tensor, or a role/layer
 * group), a sub-block of a tensor (rows, columns, heads), averaged over several batches; and the
 * dense Hessian of small models.
 */
import { TdxError } from '@tdx/core';
import {
  hvpFlat,
  type Batch,
  type LossFunction,
  type ParamSelector,
  type ParamSet,
} from '@tdx/tensor';

/** A symmetric linear operator on R^dimension. */
export interface CurvatureOperator {
  /** What it is, for results: `H`, `H[layers.0.attn.query]`, `H[layers.0.attn.query heads 0]`. */
  name: string;
  dimension: number;
  apply(v: Float64Array): Float64Array;
}

export interface HessianOptions {
  /** Blocks the operator acts on (its principal sub-matrix); default: the trainable blocks. */
  wrt?: ParamSet;
  /** Indices into the flat vector of `wrt`: the principal sub-matrix of those coordinates. */
  coordinates?: Int32Array;
  /** `mean` (default) averages the batches' Hessians; `sum` adds them (Zhang et al.'s code). */
  aggregate?: 'mean' | 'sum';
  name?: string;
}

/** The Hessian of the loss over `batches` (a single batch, or several averaged). */
export function hessianOperator(
  lossOn: (batch: Batch) => LossFunction,
  params: ParamSet,
  batches: readonly Batch[],
  options: HessianOptions = {},
): CurvatureOperator {
  const wrt = options.wrt ?? params.trainable();
  if (batches.length === 0)
    throw new TdxError('INVALID_ARGUMENT', 'a Hessian needs at least one batch');
  const losses = batches.map(lossOn);
  const full = wrt.size;
  const coordinates = options.coordinates;
  const scale = options.aggregate === 'sum' ? 1 : 1 / batches.length;
  return {
    name: options.name ?? `H[${wrt.names.join(', ')}]`,
    dimension: coordinates ? coordinates.length : full,
    apply: (v) => {
      const input = coordinates ? new Float64Array(full) : v;
      if (coordinates) coordinates.forEach((c, i) => (input[c] = v[i]!));
      const out = new Float64Array(full);
      for (const loss of losses) {
        const hv = hvpFlat(loss, params, input, { wrt });
        for (let i = 0; i < full; i++) out[i]! += scale * hv[i]!;
      }
      return coordinates ? Float64Array.from(coordinates, (c) => out[c]!) : out;
    },
  };
}

/** How a tensor is cut into sub-blocks: its rows, its columns, or groups of columns per head. */
export type SubBlockSplit =
  { split: 'none' } | { split: 'rows' } | { split: 'columns' } | { split: 'heads'; heads: number };

/** Coordinates (into the tensor's flat, row-major values) of each sub-block of a 2-D tensor. */
export function subBlockCoordinates(
  shape: readonly number[],
  split: SubBlockSplit,
): Array<{ suffix: string; coordinates: Int32Array }> {
  const size = shape.reduce((a, b) => a * b, 1);
  if (split.split === 'none')
    return [{ suffix: '', coordinates: Int32Array.from({ length: size }, (_, i) => i) }];
  if (shape.length !== 2)
    throw new TdxError(
      'INVALID_ARGUMENT',
      `splitting by ${split.split} needs a matrix, got shape [${shape}]`,
    );
  const [rows, cols] = shape as [number, number];
  if (split.split === 'rows') {
    return Array.from({ length: rows }, (_, r) => ({
      suffix: ` row ${r}`,
      coordinates: Int32Array.from({ length: cols }, (_, c) => r * cols + c),
    }));
  }
  if (split.split === 'columns') {
    return Array.from({ length: cols }, (_, c) => ({
      suffix: ` column ${c}`,
      coordinates: Int32Array.from({ length: rows }, (_, r) => r * cols + c),
    }));
  }
  if (cols % split.heads !== 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${cols} columns cannot be split into ${split.heads} heads`,
    );
  }
  const width = cols / split.heads;
  return Array.from({ length: split.heads }, (_, h) => ({
    suffix: ` head ${h}`,
    coordinates: Int32Array.from(
      { length: rows * width },
      (_, i) => Math.floor(i / width) * cols + h * width + (i % width),
    ),
  }));
}

export interface BlockSelection {
  /** `each`: every trainable tensor is a block; or a list of selectors, each one block (a group). */
  select: 'each' | ParamSelector[];
  /** Roles left out when `select` is `each` (biases and norms by default, as in Zhang et al.). */
  exclude: string[];
  split: SubBlockSplit;
}

/** The block operators of a selection: principal sub-matrices of the Hessian. */
export function blockOperators(
  lossOn: (batch: Batch) => LossFunction,
  params: ParamSet,
  batches: readonly Batch[],
  selection: BlockSelection,
  aggregate: 'mean' | 'sum' = 'mean',
): CurvatureOperator[] {
  const trainable = params.trainable();
  const groups: Array<{ name: string; set: ParamSet }> =
    selection.select === 'each'
      ? trainable.blocks
          .filter((b) => !selection.exclude.includes(b.role))
          .map((b) => ({ name: b.name, set: trainable.select({ name: b.name }) }))
      : selection.select.map((selector) => {
          const set = trainable.select(selector);
          return { name: set.names.length === 1 ? set.names[0]! : JSON.stringify(selector), set };
        });
  if (groups.length === 0) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `no trainable block is left to analyse once roles ${JSON.stringify(selection.exclude)} are excluded`,
      {
        hint: `trainable blocks: ${trainable.blocks.map((b) => `${b.name} (${b.role})`).join(', ') || 'none'}; shorten exclude or list blocks`,
      },
    );
  }

  return groups.flatMap(({ name, set }) => {
    const cuts =
      selection.split.split === 'none' || set.blocks.length !== 1
        ? [{ suffix: '', coordinates: undefined }]
        : subBlockCoordinates(set.blocks[0]!.shape, selection.split);
    return cuts.map(({ suffix, coordinates }) =>
      hessianOperator(lossOn, params, batches, {
        wrt: set,
        aggregate,
        name: `${name}${suffix}`,
        ...(coordinates ? { coordinates } : {}),
      }),
    );
  });
}

/** The dense matrix of an operator, column by column (for small models: dimension ≤ limit). */
export function denseMatrix(operator: CurvatureOperator, limit = 3000): Float64Array[] {
  if (operator.dimension > limit) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${operator.name} has ${operator.dimension} dimensions; the dense Hessian is only built up to ${limit}`,
      {
        hint: 'use the spectral density (SLQ) or top eigenvalues (Lanczos) for larger models',
      },
    );
  }
  return Array.from({ length: operator.dimension }, (_, j) => {
    const e = new Float64Array(operator.dimension);
    e[j] = 1;
    return operator.apply(e);
  });
}
