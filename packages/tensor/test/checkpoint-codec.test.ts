/**
 * The trainer's checkpoint codec against the layout it documents, independently of any
 * training: every bit of every value survives a round trip, tensors in the optimizer state
 * become `{ $array }` references in traversal order, plain values stay as they are, and a
 * checkpoint that does not fit the run fails with CHECKPOINT_CORRUPT.
 */
import { expect, it } from 'vitest';
import type { SessionCheckpoint } from '@tdx/core';
import { ParamSet, tf } from '../src/index.js';
import { encodeCheckpoint, restoreCheckpoint } from '../src/trainer/checkpoint-codec.js';
import { describeEachBackend } from './support/backends.js';

/** Values whose bits a lossy copy would change: signed zero, subnormals, extremes, NaN. */
const AWKWARD = Float32Array.from([
  -0,
  1.401298464324817e-45,
  -1.1754942106924411e-38,
  3.4028234663852886e38,
  Infinity,
  -Infinity,
  NaN,
  0.1,
  -1 / 3,
  16777217,
]);

const bits = (values: ArrayLike<number> | Float32Array | Int32Array): number[] =>
  Array.from(
    values instanceof Int32Array ? values : new Uint32Array(Float32Array.from(values).buffer),
  );

function params(w: Float32Array, b: number[]): ParamSet {
  return ParamSet.create([
    { name: 'layers.0.w', role: 'mlp', init: { values: w, shape: [2, 5] } },
    { name: 'b', role: 'bias', init: { values: b, shape: [2] } },
  ]);
}

describeEachBackend('the checkpoint codec', () => {
  it('restores parameters and optimizer state bit for bit, plain values as they were', () => {
    const source = params(AWKWARD, [1.5, -2.25]);
    const m = tf.tensor(AWKWARD.slice().reverse(), [10]);
    const count = tf.tensor([7, -3], [2], 'int32');
    const state = {
      moments: [{ m, count }, 'plain text'],
      step: 12,
      nothing: null,
      flags: { nested: [true, 0.5] },
    };
    const datasetState = { cursor: 40, rng: [1, 2, 3] };
    const saved = encodeCheckpoint(source, state, datasetState);

    // The layout: parameters by name, then optimizer tensors numbered in traversal order.
    expect(Object.keys(saved.arrays)).toEqual([
      'param:layers.0.w',
      'param:b',
      'optimizer:0',
      'optimizer:1',
    ]);
    expect(saved.state).toEqual({
      optimizer: {
        moments: [{ m: { $array: 'optimizer:0' }, count: { $array: 'optimizer:1' } }, 'plain text'],
        step: 12,
        nothing: null,
        flags: { nested: [true, 0.5] },
      },
      dataset: datasetState,
    });
    expect(saved.arrays['optimizer:1']).toMatchObject({ dtype: 'int32', shape: [2] });

    // The saved arrays are copies: later changes to the live tensors do not reach them.
    source.blocks[0]!.variable.assign(tf.zeros([2, 5]));
    expect(bits(saved.arrays['param:layers.0.w']!.values)).toEqual(bits(AWKWARD));

    const target = params(new Float32Array(10), [0, 0]);
    const restored = restoreCheckpoint(saved, target);
    expect(bits(target.block('layers.0.w').variable.dataSync())).toEqual(bits(AWKWARD));
    expect(Array.from(target.block('b').variable.dataSync())).toEqual([1.5, -2.25]);
    const moments = (restored.optimizer as typeof state).moments as [
      { m: tf.Tensor; count: tf.Tensor },
      string,
    ];
    expect(bits(moments[0].m.dataSync())).toEqual(bits(AWKWARD.slice().reverse()));
    expect(moments[0].m.shape).toEqual([10]);
    expect(moments[0].count.dtype).toBe('int32');
    expect(Array.from(moments[0].count.dataSync())).toEqual([7, -3]);
    expect(moments[1]).toBe('plain text');
    expect(restored.optimizer).toMatchObject({
      step: 12,
      nothing: null,
      flags: { nested: [true, 0.5] },
    });
    expect(restored.dataset).toEqual(datasetState);

    tf.dispose([m, count, moments[0].m, moments[0].count]);
    source.dispose();
    target.dispose();
  });

  it('keeps restored optimizer tensors alive through a surrounding tf.tidy', () => {
    const p = params(new Float32Array(10).fill(1), [0, 0]);
    const v = tf.ones([3]);
    const saved = encodeCheckpoint(p, { v }, null);
    const before = tf.memory().numTensors;
    // The tidy returns nothing: only tf.keep can save the restored tensors from it.
    let restored: { v: tf.Tensor } | undefined;
    tf.tidy(() => {
      restored = restoreCheckpoint(saved, p).optimizer as { v: tf.Tensor };
    });
    if (!restored) throw new Error('restoreCheckpoint returned no state');
    expect(restored.v.isDisposed).toBe(false);
    expect(Array.from(restored.v.dataSync())).toEqual([1, 1, 1]);
    // The restored state is the only thing that outlives the restore.
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([v, restored.v]);
    p.dispose();
  });

  it('refuses a tensor it cannot store, and a checkpoint that does not fit the run', () => {
    const p = params(new Float32Array(10), [0, 0]);
    const flag = tf.tensor([true], [1], 'bool');
    expect(() => encodeCheckpoint(p, { flag }, null)).toThrow(/cannot checkpoint a bool tensor/);
    flag.dispose();

    const saved = encodeCheckpoint(p, {}, null);
    const without = (name: string): SessionCheckpoint => {
      const arrays = { ...saved.arrays };
      delete arrays[name];
      return { ...saved, arrays };
    };
    expect(() => restoreCheckpoint(without('param:b'), p)).toThrow(
      expect.objectContaining({
        code: 'CHECKPOINT_CORRUPT',
        message: expect.stringMatching(/no array "param:b"/),
      }),
    );
    const misshapen: SessionCheckpoint = {
      ...saved,
      arrays: {
        ...saved.arrays,
        'param:b': { shape: [1, 2], dtype: 'float32', values: new Float32Array(2) },
      },
    };
    expect(() => restoreCheckpoint(misshapen, p)).toThrow(
      expect.objectContaining({
        code: 'CHECKPOINT_CORRUPT',
        message: expect.stringMatching(/shape \[1,2\], the run needs \[2\]/),
      }),
    );
    const dangling: SessionCheckpoint = {
      ...saved,
      state: { optimizer: { $array: 'optimizer:9' }, dataset: null },
    };
    expect(() => restoreCheckpoint(dangling, p)).toThrow(/no array "optimizer:9"/);
    p.dispose();
  });
});
