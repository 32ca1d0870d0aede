import { describe, expect, it } from 'vitest';
import { createRegistry } from '@tdx/core';
import { Rng, tf, useBackend } from '@tdx/tensor';
import {
  batchNorm,
  buildResnet,
  conv2d,
  convolve,
  groupNorm,
  maxPool2d,
  parameterCount,
  register,
  resnetConfig,
  SUM_OF_PRODUCTS_ROWS,
} from '../src/index.js';
import { expectExactHvp, imageInfo, images } from './support/checks.js';

/** A direct nested-loop convolution (zero padding), [B, H, W, C] -> [B, outH, outW, O]. */
function referenceConv(
  x: number[],
  [B, H, W, C]: number[],
  w: number[],
  k: number,
  O: number,
  stride: number,
  pad: number,
): number[][][][] {
  const outH = Math.floor((H! + 2 * pad - k) / stride) + 1;
  const outW = Math.floor((W! + 2 * pad - k) / stride) + 1;
  const at = (b: number, i: number, j: number, c: number) =>
    i < 0 || j < 0 || i >= H! || j >= W! ? 0 : x[((b * H! + i) * W! + j) * C! + c]!;
  return Array.from({ length: B! }, (_, b) =>
    Array.from({ length: outH }, (_, i) =>
      Array.from({ length: outW }, (_, j) =>
        Array.from({ length: O }, (_, o) => {
          let s = 0;
          for (let di = 0; di < k; di++)
            for (let dj = 0; dj < k; dj++)
              for (let c = 0; c < C!; c++)
                s +=
                  at(b, i * stride + di - pad, j * stride + dj - pad, c) *
                  w[((di * k + dj) * C! + c) * O + o]!;
          return s;
        }),
      ),
    ),
  );
}

const tinyResnet = (norm: 'batch' | 'group' | 'none', activation = 'relu') =>
  resnetConfig.parse({ width: 4, blocks: [1, 1], norm, groups: 2, activation });

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`resnet [${backend}]`, () => {
    it('has exact Hessian-vector products with batch-statistics batch norm (ReLU, projection shortcut)', async () => {
      await useBackend(backend);
      const model = buildResnet(tinyResnet('batch'), imageInfo(6, 3, 2), 1);
      const batch = images(2, 4, 6, 3, 2);
      // ReLU is piecewise linear: a step of 1e-2 carries some units across their kink.
      expect(await expectExactHvp(model, batch, { step: 3e-3 })).toBeLessThan(2e-3);
      // A block of its own: one convolution's H_bb v.
      await expectExactHvp(model, batch, {
        wrt: model.params.select({ name: 'stages.1.0.conv2' }),
      });
      model.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    });

    it('has exact Hessian-vector products with group norm and without normalisation', async () => {
      await useBackend(backend);
      for (const norm of ['group', 'none'] as const) {
        const model = buildResnet(tinyResnet(norm, 'gelu'), imageInfo(6, 3, 2), 2);
        const batch = images(3, 3, 6, 3, 2);
        await expectExactHvp(model, batch);
        model.dispose();
        tf.dispose([batch.inputs, batch.targets]);
      }
    });

    it('convolutions as sums of products (large feature maps) have exact Hessian-vector products', async () => {
      await useBackend(backend);
      const config = resnetConfig.parse({ width: 2, blocks: [1, 1], activation: 'gelu' });
      const model = buildResnet(config, imageInfo(46, 2), 6);
      const batch = images(7, 2, 46, 2);
      expect(2 * 46 * 46).toBeGreaterThanOrEqual(SUM_OF_PRODUCTS_ROWS);
      // Long float32 sums: the difference quotient's rounding error grows as the step shrinks
      // (wasm, gelu: 1.3e-2 at 3e-3, 4.9e-3 at 1e-2, 9.6e-4 at 3e-2), so a larger step.
      await expectExactHvp(model, batch, { step: 3e-2 });
      model.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    });

    it('strided convolutions and the stem pool have exact Hessian-vector products', async () => {
      await useBackend(backend);
      const config = resnetConfig.parse({
        width: 2,
        blocks: [1],
        stemKernel: 5,
        stemStride: 2,
        stemPool: true,
        activation: 'gelu',
      });
      const model = buildResnet(config, imageInfo(9, 2), 4);
      const batch = images(5, 3, 9, 2);
      await expectExactHvp(model, batch);
      model.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    });
  });
}

describe('resnet', () => {
  it('convolves at any stride and padding as a nested-loop convolution does', async () => {
    await useBackend('wasm');
    const rng = new Rng(3);
    for (const [H, W, k, stride, pad] of [
      [7, 6, 3, 2, 1],
      [8, 8, 3, 2, 1],
      [7, 7, 1, 2, 0],
      [9, 8, 7, 2, 3],
      [5, 5, 3, 1, 1],
      // From SUM_OF_PRODUCTS_ROWS output positions on, a sum of k² products (stride 1 and 2).
      [48, 48, 3, 1, 1],
      [96, 95, 3, 2, 1],
    ] as const) {
      const [B, C, O] = [2, 3, 2];
      const x = Array.from(rng.normalArray(B * H * W * C));
      const w = Array.from(rng.normalArray(k * k * C * O));
      const out = tf.tidy(() =>
        conv2d(
          tf.tensor4d(x, [B, H, W, C]),
          tf.tensor2d(w, [k * k * C, O]),
          k,
          stride,
          pad,
        ).arraySync(),
      ) as number[][][][];
      const expected = referenceConv(x, [B, H, W, C], w, k, O, stride, pad);
      expect([out.length, out[0]!.length, out[0]![0]!.length]).toEqual([
        B,
        expected[0]!.length,
        expected[0]![0]!.length,
      ]);
      const got = out.flat(3);
      expected.flat(3).forEach((e, i) => expect(got[i]).toBeCloseTo(e, 4));
    }
    // At stride 1 it is cnn's convolution.
    const same = tf.tidy(() => {
      const x = rng.normalTensor([1, 5, 5, 2]);
      const w = rng.normalTensor([18, 3]);
      return tf.max(tf.abs(tf.sub(conv2d(x, w, 3), convolve(x, w, 3)))).dataSync()[0]!;
    });
    expect(same).toBeLessThan(1e-5);
  });

  it('max-pools 3×3 windows at stride 2 with padding that never wins', async () => {
    await useBackend('cpu');
    const values = Array.from({ length: 25 }, (_, i) => -1 - ((i * 7) % 25)); // all negative
    const out = tf.tidy(() =>
      maxPool2d(tf.tensor4d(values, [1, 5, 5, 1]), 3, 2, 1).arraySync(),
    ) as number[][][][];
    const at = (i: number, j: number) =>
      i < 0 || j < 0 || i >= 5 || j >= 5 ? -Infinity : values[i * 5 + j]!;
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let m = -Infinity;
        for (let di = -1; di <= 1; di++)
          for (let dj = -1; dj <= 1; dj++) m = Math.max(m, at(2 * i + di, 2 * j + dj));
        expect(out[0]![i]![j]![0]).toBe(m);
      }
  });

  it('normalises with the batch statistics per channel (batch) or per example and group (group)', async () => {
    await useBackend('wasm');
    const rng = new Rng(9);
    const [B, H, W, C] = [3, 4, 5, 4];
    const x = tf.add(tf.mul(rng.normalTensor([B, H, W, C]), 3), 2);
    const gain = tf.ones([C]);
    const bias = tf.zeros([C]);
    const moments = (y: tf.Tensor, axes: number[]) =>
      tf.tidy(() => {
        const mean = tf.mean(y, axes);
        const variance = tf.mean(tf.square(tf.sub(y, tf.mean(y, axes, true))), axes);
        return [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
      });
    const [mb, vb] = moments(batchNorm(x, gain, bias), [0, 1, 2]);
    mb!.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-5));
    vb!.forEach((v) => expect(v).toBeCloseTo(1, 3));
    const grouped = tf.tidy(() => tf.reshape(groupNorm(x, gain, bias, 2), [B, H, W, 2, 2]));
    const [mg, vg] = moments(grouped, [1, 2, 4]);
    expect(mg!.length).toBe(B * 2);
    mg!.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-5));
    vg!.forEach((v) => expect(v).toBeCloseTo(1, 3));
    // Batch statistics couple the examples: one example's output changes with the others.
    const first = tf.tidy(() => {
      const alone = tf.slice(batchNorm(x, gain, bias), [0, 0, 0, 0], [1, H, W, C]);
      const other = tf.concat([tf.slice(x, [0, 0, 0, 0], [1, H, W, C]), tf.zeros([2, H, W, C])]);
      const changed = tf.slice(batchNorm(other, gain, bias), [0, 0, 0, 0], [1, H, W, C]);
      return tf.max(tf.abs(tf.sub(alone, changed))).dataSync()[0]!;
    });
    expect(first).toBeGreaterThan(0.1);
    tf.dispose([x, gain, bias, grouped]);
  });

  it('builds the blocks of PyTorch’s partition, one per convolution and norm', () => {
    const model = buildResnet(resnetConfig.parse({}), imageInfo(14, 10), 0);
    const names = model.params.names;
    expect(names.slice(0, 7)).toEqual([
      'stem.conv',
      'stem.norm.gain',
      'stem.norm.bias',
      'stages.0.0.conv1',
      'stages.0.0.norm1.gain',
      'stages.0.0.norm1.bias',
      'stages.0.0.conv2',
    ]);
    expect(names).toContain('stages.1.0.shortcut.conv');
    expect(names).not.toContain('stages.0.0.shortcut.conv');
    expect(model.params.select({ role: 'conv' }).names.length).toBe(1 + 3 * 2 + 2);
    expect(model.params.size).toBe(parameterCount('resnet', {}, imageInfo(14, 10)));
    model.dispose();
    const plain = buildResnet(resnetConfig.parse({ norm: 'none' }), imageInfo(14, 10), 0);
    expect(plain.params.blocks.filter((b) => b.role === 'norm')).toEqual([]);
    expect(plain.params.names).toContain('stem.conv.bias');
    plain.dispose();
  });

  it('counts ResNet18 (size: paper) on ImageNet shapes as torchvision does: 11,689,512', () => {
    const imagenet = { ...imageInfo(224, 1000, 3) };
    expect(parameterCount('resnet', { size: 'paper' }, imagenet)).toBe(11_689_512);
    // ResNet-20 (size: nano) on CIFAR-10 shapes: He et al.'s 0.27M (269,722 with their
    // zero-padding shortcuts) plus 2,752 for the two projection shortcuts.
    expect(parameterCount('resnet', { size: 'nano' }, imageInfo(32, 10, 3))).toBe(272_474);
  });

  it('says when the groups do not divide the channels, or the size is unknown', () => {
    expect(() =>
      buildResnet(resnetConfig.parse({ norm: 'group', groups: 3 }), imageInfo(8, 10), 0),
    ).toThrow(/cannot be split into 3 groups/);
    expect(
      register(createRegistry()).check('model', { name: 'resnet', size: 'huge' }, 'model')
        .problems[0]!.path,
    ).toBe('model.size');
  });
});
