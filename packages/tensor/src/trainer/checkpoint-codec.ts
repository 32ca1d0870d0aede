/**
 * A training session's tensors as a checkpoint and back. Parameters are stored as arrays named
 * `param:<block name>`; in the optimizer state (any tree of objects, arrays, tensors and plain
 * values), each tensor becomes a reference `{ $array: "optimizer:<n>" }` (n counts tensors in
 * traversal order) and everything else stays as it is. Values are copied bit for bit, so a
 * restored session continues exactly as the saved one would have.
 */
import { TdxError, type SessionCheckpoint } from '@tdx/core';
import type { ParamSet } from '../param-set.js';
import { tf, type Tensor } from '../tf.js';

/** What a checkpoint holds besides the parameters. */
export interface RestoredState {
  /** The optimizer state, its tensors new (kept: they outlive any tf.tidy around the caller). */
  optimizer: unknown;
  /** What the dataset's checkpoint() returned (null when it has none). */
  dataset: unknown;
}

export function encodeCheckpoint(
  params: ParamSet,
  optimizerState: unknown,
  datasetState: unknown,
): SessionCheckpoint {
  const arrays: SessionCheckpoint['arrays'] = {};
  const save = (name: string, t: Tensor) => {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') {
      throw new TdxError(
        'PLUGIN_CONTRACT',
        `cannot checkpoint a ${t.dtype} tensor (${name}); keep state as float32 or int32`,
      );
    }
    arrays[name] = {
      shape: t.shape,
      dtype: t.dtype,
      values: (t.dataSync() as Float32Array | Int32Array).slice(),
    };
  };
  for (const block of params.blocks) save(`param:${block.name}`, block.variable);
  let n = 0;
  const encode = (x: unknown): unknown => {
    if (x instanceof tf.Tensor) {
      const name = `optimizer:${n++}`;
      save(name, x);
      return { $array: name };
    }
    if (Array.isArray(x)) return x.map(encode);
    if (x !== null && typeof x === 'object')
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, encode(v)]));
    return x;
  };
  return { arrays, state: { optimizer: encode(optimizerState), dataset: datasetState } };
}

/**
 * Assigns the checkpoint's parameters to `params` (block by block: a missing or misshapen
 * array fails with CHECKPOINT_CORRUPT) and returns the rest of its state.
 */
export function restoreCheckpoint(checkpoint: SessionCheckpoint, params: ParamSet): RestoredState {
  const array = (name: string, shape: readonly number[]) => {
    const a = checkpoint.arrays[name];
    if (!a) throw new TdxError('CHECKPOINT_CORRUPT', `the checkpoint has no array "${name}"`);
    if (!tf.util.arraysEqual(a.shape, shape as number[]))
      throw new TdxError(
        'CHECKPOINT_CORRUPT',
        `array "${name}" has shape [${a.shape}], the run needs [${shape}]`,
      );
    return tf.tensor(a.values, a.shape, a.dtype);
  };
  for (const block of params.blocks) {
    tf.tidy(() => block.variable.assign(array(`param:${block.name}`, block.shape)));
  }
  const decode = (x: unknown): unknown => {
    if (x !== null && typeof x === 'object' && '$array' in x) {
      const a = checkpoint.arrays[(x as { $array: string }).$array];
      return tf.keep(array((x as { $array: string }).$array, a?.shape ?? []));
    }
    if (Array.isArray(x)) return x.map(decode);
    if (x !== null && typeof x === 'object')
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, decode(v)]));
    return x;
  };
  const saved = checkpoint.state as { optimizer: unknown; dataset: unknown };
  return { optimizer: decode(saved.optimizer), dataset: saved.dataset };
}
