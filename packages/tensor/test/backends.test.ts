import { describe, expect, it } from 'vitest';
import { Registry, TdxError, type BackendInstance } from '@tdx/core';
import { register, tf, unsortedSegmentSumOnHost, useBackend } from '../src/index.js';

describe('backends', () => {
  it('activates wasm (the default) and cpu through their plugins', async () => {
    const registry = register(Registry.create());
    expect(registry.names('backend')).toEqual(['wasm', 'cpu', 'tensorflow']);
    const wasm = registry.create<BackendInstance>('backend', 'wasm');
    expect(await wasm.activate()).toMatchObject({ name: 'wasm', details: { simd: true } });
    expect(tf.getBackend()).toBe('wasm');
    const cpu = registry.create<BackendInstance>('backend', 'cpu');
    expect((await cpu.activate()).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('says how to install the tensorflow backend when it is absent', async () => {
    const error = await useBackend('tensorflow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TdxError);
    expect((error as TdxError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as TdxError).hint).toContain('npm install @tensorflow/tfjs-node@4.22.0');
    expect((error as TdxError).hint).toContain('--backend wasm');
  });

  it("gives wasm the UnsortedSegmentSum kernel (the gradient of gather), equal to cpu's", async () => {
    await useBackend('cpu');
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    const ids = tf.tensor1d([2, 0, 2, -1], 'int32');
    const expected = Array.from(tf.unsortedSegmentSum(x, ids, 3).dataSync());
    const host = unsortedSegmentSumOnHost(x.dataSync(), [4, 2], ids.dataSync(), [4], 3);
    expect(Array.from(host.values)).toEqual(expected);
    expect(host.shape).toEqual([3, 2]);
    await useBackend('wasm');
    const onWasm = tf.unsortedSegmentSum(
      tf.tensor2d([
        [1, 2],
        [3, 4],
        [5, 6],
        [7, 8],
      ]),
      tf.tensor1d([2, 0, 2, -1], 'int32'),
      3,
    );
    expect(Array.from(onWasm.dataSync())).toEqual(expected);
  });
});
