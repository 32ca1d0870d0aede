import { describe, expect, it } from 'vitest';
import { createRegistry } from '@tdx/core';
import { Rng, tf, useBackend, exactnessBackends } from '@tdx/tensor';
import {
  averagePool,
  buildCnn,
  buildMlp,
  buildVit,
  cnnConfig,
  convolve,
  mlpConfig,
  patchify,
  register,
  vitConfig,
} from '../src/index.js';
import { expectExactHvp, imageInfo, images } from './support/checks.js';

for (const backend of exactnessBackends()) {
  describe(`image models [${backend}]`, () => {
    it('vit has exact Hessian-vector products', async () => {
      await useBackend(backend);
      const model = buildVit(
        vitConfig.parse({ patch: 2, width: 8, heads: 2, layers: 1, mlpRatio: 2, initStd: 0.3 }),
        imageInfo(4, 3),
        1,
      );
      const batch = images(2, 3, 4, 3);
      await expectExactHvp(model, batch);
      model.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    });

    it('cnn has exact Hessian-vector products (convolutions as im2col)', async () => {
      await useBackend(backend);
      const model = buildCnn(
        cnnConfig.parse({ channels: [3, 2], kernel: 3, activation: 'tanh', pool: 2 }),
        imageInfo(4, 3, 2),
        1,
      );
      const batch = images(3, 3, 4, 3, 2);
      await expectExactHvp(model, batch);
      model.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    });

    it('mlp has exact Hessian-vector products, for classification and regression', async () => {
      await useBackend(backend);
      const classifier = buildMlp(
        mlpConfig.parse({ hidden: [5, 4], activation: 'gelu' }),
        imageInfo(3, 4),
        1,
      );
      const batch = images(4, 5, 3, 4);
      await expectExactHvp(classifier, batch);
      classifier.dispose();
      tf.dispose([batch.inputs, batch.targets]);
      const regressor = buildMlp(
        mlpConfig.parse({ hidden: [6], activation: 'tanh' }),
        { task: 'regression', inputShape: [3], targetShape: [], meta: {} },
        2,
      );
      const rng = new Rng(5);
      const data = { inputs: rng.normalTensor([8, 3]), targets: rng.normalTensor([8]) };
      await expectExactHvp(regressor, data);
      regressor.dispose();
      tf.dispose([data.inputs, data.targets]);
    });
  });
}

describe('image models, forward', () => {
  it('cut patches row by row, pixels row-major within each patch', async () => {
    await useBackend('cpu');
    const values = Array.from({ length: 4 * 4 * 2 }, (_, i) => i); // [1, 4, 4, 2]: pixel (r, c) channel k = (4r + c)·2 + k
    const out = tf.tidy(() =>
      patchify(tf.tensor4d(values, [1, 4, 4, 2]), 2).arraySync(),
    ) as number[][][];
    expect(out[0]!.length).toBe(4);
    // Patch (0, 1): rows 0-1, columns 2-3.
    const pixel = (r: number, c: number, k: number) => (4 * r + c) * 2 + k;
    expect(out[0]![1]).toEqual([
      pixel(0, 2, 0),
      pixel(0, 2, 1),
      pixel(0, 3, 0),
      pixel(0, 3, 1),
      pixel(1, 2, 0),
      pixel(1, 2, 1),
      pixel(1, 3, 0),
      pixel(1, 3, 1),
    ]);
  });

  it('convolve equals a direct nested-loop convolution with zero padding; pooling averages squares', async () => {
    await useBackend('wasm');
    const rng = new Rng(7);
    const [B, H, W, C, O, k] = [2, 5, 4, 3, 2, 3];
    const x = Array.from(rng.normalArray(B * H * W * C));
    const w = Array.from(rng.normalArray(k * k * C * O));
    const out = tf.tidy(() =>
      convolve(tf.tensor4d(x, [B, H, W, C]), tf.tensor2d(w, [k * k * C, O]), k).arraySync(),
    ) as number[][][][];
    const at = (b: number, i: number, j: number, c: number) =>
      i < 0 || j < 0 || i >= H || j >= W ? 0 : x[((b * H + i) * W + j) * C + c]!;
    for (let b = 0; b < B; b++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++)
          for (let o = 0; o < O; o++) {
            let s = 0;
            for (let di = 0; di < k; di++)
              for (let dj = 0; dj < k; dj++)
                for (let c = 0; c < C; c++)
                  s += at(b, i + di - 1, j + dj - 1, c) * w[((di * k + dj) * C + c) * O + o]!;
            expect(out[b]![i]![j]![o]).toBeCloseTo(s, 4);
          }
    const pooled = tf.tidy(() =>
      averagePool(
        tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]),
        2,
      ).arraySync(),
    ) as number[][][][];
    expect(pooled[0]!.map((row) => row.map((p) => p[0]))).toEqual([
      [3.5, 5.5],
      [11.5, 13.5],
    ]);
  });

  it('size themselves from the data and say what does not fit', () => {
    const mlp = buildMlp(mlpConfig.parse({ hidden: [10] }), imageInfo(28, 10), 0);
    expect(mlp.params.size).toBe(784 * 10 + 10 + 10 * 10 + 10);
    mlp.dispose();
    expect(() => buildVit(vitConfig.parse({ patch: 5 }), imageInfo(28, 10), 0)).toThrow(
      /cannot be cut into 5×5 patches/,
    );
    expect(() => buildCnn(cnnConfig.parse({ channels: [4, 4, 4] }), imageInfo(7, 10), 0)).toThrow(
      /after layer 0 the feature map is 7×7/,
    );
    expect(
      register(createRegistry()).check('model', { name: 'cnn', kernel: 4 }, 'model').problems,
    ).toEqual([{ path: 'model.kernel', message: 'must be odd', value: 4 }]);
  });
});
