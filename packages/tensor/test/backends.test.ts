import { describe, expect, it } from 'vitest';
import { Registry, TdxError, type BackendInstance } from '@tdx/core';
import {
  nativeBackendStatus,
  register,
  tf,
  unsortedSegmentSumOnHost,
  useBackend,
} from '../src/index.js';

describe('backends', () => {
  it('activates wasm and cpu through their plugins', async () => {
    const registry = register(Registry.create());
    expect(registry.names('backend')).toEqual(['auto', 'wasm', 'cpu', 'tensorflow']);
    const wasm = registry.create<BackendInstance>('backend', 'wasm');
    expect(await wasm.activate()).toMatchObject({ name: 'wasm', details: { simd: true } });
    expect(tf.getBackend()).toBe('wasm');
    const cpu = registry.create<BackendInstance>('backend', 'cpu');
    expect((await cpu.activate()).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('auto picks tensorflow where it is built, else wasm, and says it was asked for auto', async () => {
    const registry = register(Registry.create());
    const info = await registry.create<BackendInstance>('backend', 'auto').activate();
    expect(info.name).toBe(nativeBackendStatus('auto').ready ? 'tensorflow' : 'wasm');
    expect(info.details?.requested).toBe('auto');
    expect(tf.getBackend()).toBe(info.name);
  });

  it('says how to build the native backend when a package is absent', async () => {
    // No machine here has the GPU package; the CPU one may or may not be built.
    const status = nativeBackendStatus('gpu');
    expect(status.ready).toBe(false);
    expect(status.reason).toContain('@tensorflow/tfjs-node-gpu');
    expect(status.reason).toContain('npx tdx setup tensorflow');
    const registry = register(Registry.create());
    const error = await registry
      .create<BackendInstance>('backend', { name: 'tensorflow', device: 'gpu' })
      .activate()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TdxError);
    expect((error as TdxError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as TdxError).message).toContain('npx tdx setup tensorflow');
    expect((error as TdxError).hint).toContain('--backend wasm');
  });

  it.skipIf(!nativeBackendStatus('cpu').ready)(
    'runs the native backend where it is built: TensorFlow 2.21, threads as configured',
    async () => {
      const info = await useBackend('tensorflow');
      expect(info).toMatchObject({
        name: 'tensorflow',
        details: { package: '@tensorflow/tfjs-node', tensorflow: '2.21.0' },
      });
      expect(info.details?.threads).toBeGreaterThanOrEqual(1);
      const product = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
      expect(Array.from(product.dataSync())).toEqual([11]);
      product.dispose();
    },
  );

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
