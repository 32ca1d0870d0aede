/**
 * The loss at w + Σ_k a_k d_k for many coordinates a, on one batch. The parameters themselves
 * are never written: each evaluation passes the model a map of new tensors (trainable blocks
 * moved, frozen blocks as they are), built and released inside one tf.tidy, so nothing needs
 * restoring afterwards, even when a loss throws. Sums are float32 on the backend, as the
 * parameters would be; the centre (a = 0) is w exactly.
 */
import { TdxError } from '@tdx/core';
import { tf, type Batch, type LossFunction, type ParamSet, type Tensor } from '@tdx/tensor';

export interface SliceSetup {
  lossOn: (batch: Batch) => LossFunction;
  batch: Batch;
  /** Every block of the model. */
  params: ParamSet;
  /** The blocks that move (a view of `params`). */
  trainable: ParamSet;
  /** The values of every block of `params` at the centre, flattened like params.flatten(). */
  base: ArrayLike<number>;
  /** Directions over `trainable`, flattened like trainable.flatten(). */
  directions: ReadonlyArray<ArrayLike<number>>;
}

/** Calls `use` with the loss as a function of the coordinates; releases every tensor after. */
export function withSliceEvaluator<T>(
  setup: SliceSetup,
  use: (lossAt: (coordinates: readonly number[]) => number) => T,
): T {
  const { params, trainable, directions } = setup;
  if (setup.base.length !== params.size) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `the centre has ${setup.base.length} values, the model ${params.size}`,
    );
  }
  for (const d of directions) {
    if (d.length !== trainable.size)
      throw new TdxError(
        'SHAPE_MISMATCH',
        `a direction has ${d.length} values, the trainable blocks ${trainable.size}`,
      );
  }
  const kept: Tensor[] = [];
  const keep = (values: ArrayLike<number>, from: number, shape: readonly number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(
      Float32Array.from({ length: size }, (_, i) => values[from + i]!),
      shape as number[],
      'float32',
    );
    kept.push(t);
    return t;
  };
  try {
    const offsets = params.offsets();
    const centre = Object.fromEntries(
      params.blocks.map((b, i) => [b.name, keep(setup.base, offsets[i]!, b.shape)]),
    );
    const trainableOffsets = trainable.offsets();
    const moved = trainable.blocks.map((b, i) => ({
      name: b.name,
      directions: directions.map((d) => keep(d, trainableOffsets[i]!, b.shape)),
    }));
    const loss = setup.lossOn(setup.batch);
    const lossAt = (coordinates: readonly number[]): number => {
      if (coordinates.length !== directions.length)
        throw new TdxError(
          'SHAPE_MISMATCH',
          `${coordinates.length} coordinates for ${directions.length} directions`,
        );
      const value = tf.tidy(() => {
        const values = { ...centre };
        for (const m of moved) {
          let v = centre[m.name]!;
          m.directions.forEach((d, k) => {
            if (coordinates[k] !== 0) v = tf.add(v, tf.mul(d, coordinates[k]!));
          });
          values[m.name] = v;
        }
        return loss(values);
      });
      const out = value.dataSync()[0]!;
      value.dispose();
      return out;
    };
    return use(lossAt);
  } finally {
    tf.dispose(kept);
  }
}
