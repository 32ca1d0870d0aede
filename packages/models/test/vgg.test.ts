import { describe, expect, it } from 'vitest';
import { Rng, tf, useBackend } from '@tdx/tensor';
import { buildVgg, maxPoolSquares, parameterCount, vggConfig } from '../src/index.js';
import { expectExactHvp, imageInfo, images } from './support/checks.js';

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`vgg [${backend}]`, () => {
    it('has exact Hessian-vector products (ReLU, max pooling over an odd feature map)', async () => {
      await useBackend(backend);
      const config = vggConfig.parse({ stages: [[3, 2], [3]], hidden: [5] });
      // 7×7: the first pool drops the last row and column (7 -> 3), as PyTorch's MaxPool2d(2).
      const model = buildVgg(config, imageInfo(7, 3, 2), 1);
      const batch = images(2, 3, 7, 3, 2);
      // ReLU and max are piecewise linear: a small step keeps units and maxima on their side.
      await expectExactHvp(model, batch, { step: 3e-3 });
      await expectExactHvp(model, batch, {
        wrt: model.params.select({ name: 'stages.0.1.conv' }),
        step: 3e-3,
      });
      model.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    });

    it('has exact Hessian-vector products with smooth activations and average pooling', async () => {
      await useBackend(backend);
      const config = vggConfig.parse({
        stages: [[2], [3]],
        hidden: [4],
        activation: 'tanh',
        pool: 'average',
      });
      const model = buildVgg(config, imageInfo(8, 3), 2);
      const batch = images(4, 3, 8, 3);
      await expectExactHvp(model, batch);
      model.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    });
  });
}

describe('vgg', () => {
  it('max-pools 2×2 squares, dropping a trailing odd row and column', async () => {
    await useBackend('cpu');
    const rng = new Rng(4);
    const values = Array.from(rng.normalArray(5 * 5 * 2));
    const out = tf.tidy(() =>
      maxPoolSquares(tf.tensor4d(values, [1, 5, 5, 2]), 2).arraySync(),
    ) as number[][][][];
    expect([out[0]!.length, out[0]![0]!.length]).toEqual([2, 2]);
    const at = (i: number, j: number, c: number) => values[(i * 5 + j) * 2 + c]!;
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++)
        for (let c = 0; c < 2; c++)
          expect(out[0]![i]![j]![c]).toBeCloseTo(
            Math.max(
              at(2 * i, 2 * j, c),
              at(2 * i + 1, 2 * j, c),
              at(2 * i, 2 * j + 1, c),
              at(2 * i + 1, 2 * j + 1, c),
            ),
            6,
          );
  });

  it('has one block per convolution and dense matrix, biases apart, and counts VGG16 as torchvision', () => {
    const model = buildVgg(vggConfig.parse({}), imageInfo(28, 10), 0);
    expect(model.params.select({ role: 'conv' }).names).toEqual([
      'stages.0.0.conv',
      'stages.0.1.conv',
      'stages.1.0.conv',
      'stages.1.1.conv',
      'stages.2.0.conv',
      'stages.2.1.conv',
    ]);
    expect(model.params.select({ role: 'mlp' }).names).toEqual(['dense.0.weight']);
    // 28 -> 14 -> 7 -> 3: the head sees 3·3·32 features.
    expect(model.params.select({ name: 'dense.0.weight' }).blocks[0]!.shape).toEqual([288, 64]);
    expect(model.params.size).toBe(parameterCount('vgg', {}, imageInfo(28, 10)));
    model.dispose();
    // torchvision's vgg16 (configuration D, no batch norm) on 224×224×3 images, 1000 classes.
    expect(parameterCount('vgg', { size: 'paper' }, imageInfo(224, 1000, 3))).toBe(138_357_544);
  });

  it('says when a stage has nothing left to pool', () => {
    expect(() => buildVgg(vggConfig.parse({ size: 'paper' }), imageInfo(28, 10), 0)).toThrow(
      /stage 4 gets a 1×1 feature map/,
    );
    expect(() => buildVgg(vggConfig.parse({ pool: 'average' }), imageInfo(28, 10), 0)).toThrow(
      /stage 2 gets a 7×7 feature map, which its 2×2 average pool cannot halve/,
    );
  });
});
