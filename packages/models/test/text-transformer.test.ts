import { describe, expect, it } from 'vitest';
import { createRegistry } from '@tdx/core';
import {
  fdDirectionalDerivative,
  gradFlat,
  hvpFlat,
  Rng,
  tf,
  useBackend,
  type AttentionKernel,
  type Batch,
  type LossFunction,
  type ModelBuilder,
  exactnessBackends,
} from '@tdx/tensor';
import { gaussianKernel, gaussianKernelPlugin } from '../src/kernels/gaussian-kernel.js';
import { softmaxKernel, softmaxKernelPlugin } from '../src/kernels/softmax-kernel.js';
import {
  buildTextTransformer,
  maskedMean,
  textTransformer,
  textTransformerConfig,
} from '../src/text-transformer.js';
import { expectExactHvp, lmInfo } from './support/checks.js';

const textInfo = (length: number, vocabulary: number, classes = 2) => ({
  task: 'text-classification',
  inputShape: [length],
  targetShape: [],
  meta: { vocabulary, classes, padId: 0 },
});

const tiny = textTransformerConfig.parse({
  layers: 2,
  width: 8,
  heads: 2,
  mlpRatio: 2,
  initStd: 0.3,
});

const KERNELS: Record<string, AttentionKernel> = {
  softmax: softmaxKernel({}),
  gaussian: gaussianKernel({ normalize: false }),
};

/** Sequences padded at the end (one of padding only), labels in [0, classes). */
function paddedBatch(seed: number, lengths: number[], T: number, V: number, classes = 2): Batch {
  const rng = new Rng(seed);
  const ids = lengths.flatMap((n) =>
    Array.from({ length: T }, (_, t) => (t < n ? 1 + rng.int(V - 1) : 0)),
  );
  return {
    inputs: tf.tensor2d(ids, [lengths.length, T], 'int32'),
    targets: tf.tensor1d(
      lengths.map(() => rng.int(classes)),
      'int32',
    ),
  };
}

const dispose = (b: Batch) => tf.dispose([b.inputs, b.targets]);

for (const backend of exactnessBackends()) {
  for (const [kernelName, kernel] of Object.entries(KERNELS)) {
    describe(`text-transformer [${backend}, ${kernelName}]`, () => {
      it('has a gradient that matches central finite differences along random directions', async () => {
        await useBackend(backend);
        const model = buildTextTransformer(tiny, textInfo(6, 7), 3, kernel);
        const batch = paddedBatch(1, [6, 3, 1, 0], 6, 7);
        const loss: LossFunction = (v) => model.loss(v, batch);
        const { grad } = gradFlat(loss, model.params);
        const rng = new Rng(9);
        for (let i = 0; i < 3; i++) {
          const u = rng.normalArray(model.params.size);
          const norm = Math.hypot(...u);
          const unit = u.map((x) => x / norm);
          const exact = unit.reduce((s, x, j) => s + x * grad[j]!, 0);
          const fd = fdDirectionalDerivative(loss, model.params, unit);
          expect(Math.abs(exact - fd)).toBeLessThan(2e-3 * Math.max(Math.abs(fd), 1e-2));
        }
        model.dispose();
        dispose(batch);
      });

      it('has exact Hessian-vector products (audited kernels, symmetric, = finite differences)', async () => {
        await useBackend(backend);
        const model = buildTextTransformer(tiny, textInfo(6, 7), 4, kernel);
        const batch = paddedBatch(2, [6, 4, 2, 0], 6, 7);
        const error = await expectExactHvp(model, batch);
        expect(error).toBeLessThan(2e-3);
        await expectExactHvp(model, batch, { wrt: model.params.select({ role: 'query' }) });
        model.dispose();
        dispose(batch);
      });

      it('ignores appended padding, and a sequence of padding only stays finite', async () => {
        await useBackend(backend);
        const model = buildTextTransformer(tiny, textInfo(8, 7, 3), 5, kernel);
        const values = model.params.values();
        tf.tidy(() => {
          const short = tf.tensor2d([[3, 1, 4, 1, 5]], [1, 5], 'int32');
          const long = tf.tensor2d([[3, 1, 4, 1, 5, 0, 0, 0]], [1, 8], 'int32');
          const mixed = tf.tensor2d(
            [
              [3, 1, 4, 1, 5, 0, 0, 0],
              [3, 1, 4, 1, 5, 2, 6, 0],
              [0, 0, 0, 0, 0, 0, 0, 0],
            ],
            [3, 8],
            'int32',
          );
          const a = model.predict(values, short).arraySync() as number[][];
          const b = model.predict(values, long).arraySync() as number[][];
          const c = model.predict(values, mixed).arraySync() as number[][];
          expect(c[0]!.length).toBe(3);
          a[0]!.forEach((x, k) => {
            expect(b[0]![k]).toBeCloseTo(x, 5);
            expect(c[0]![k]).toBeCloseTo(x, 5); // whatever else is in the batch
          });
          // Real tokens do change it.
          expect(Math.abs(c[1]![0]! - a[0]![0]!)).toBeGreaterThan(1e-5);
          // Padding only: the head applied to LayerNorm(0) = norm.bias = 0, i.e. head.bias = 0.
          c[2]!.forEach((x) => expect(x).toBeCloseTo(0, 6));
        });
        const empty = paddedBatch(3, [0, 0], 8, 7, 3);
        const { value, grad } = gradFlat((v) => model.loss(v, empty), model.params);
        expect(value).toBeCloseTo(Math.log(3), 5);
        expect(grad.every(Number.isFinite)).toBe(true);
        const Hv = hvpFlat(
          (v) => model.loss(v, empty),
          model.params,
          grad.map(() => 1),
        );
        expect(Hv.every(Number.isFinite)).toBe(true);
        model.dispose();
        dispose(empty);
      });
    });
  }
}

describe('text-transformer', () => {
  it('maps tokens [B, T] to logits [B, classes], starting near ln C, leaking nothing', async () => {
    await useBackend('wasm');
    const model = buildTextTransformer(textTransformerConfig.parse({}), textInfo(64, 2000), 0);
    const batch = paddedBatch(4, [64, 10, 40, 1, 63, 5, 20, 30], 64, 2000);
    const before = tf.memory().numTensors;
    const [shape, loss] = tf.tidy(() => [
      model.predict(model.params.values(), batch.inputs).shape,
      model.loss(model.params.values(), batch).dataSync()[0]!,
    ]);
    expect(tf.memory().numTensors).toBe(before);
    expect(shape).toEqual([8, 2]);
    expect(Math.abs((loss as number) - Math.log(2))).toBeLessThan(0.05);
    // Embeddings 2000·64 + 64·64, 2 blocks of 2·128 + 4·4160 + 16640 + 16448, norm 128, head 130.
    expect(model.params.size).toBe(
      128000 + 4096 + 2 * (256 + 4 * 4160 + 16640 + 16448) + 128 + 130,
    );
    expect(model.params.select({ role: 'query' }).names).toEqual([
      'layers.0.attn.query',
      'layers.1.attn.query',
    ]);
    model.dispose();
    dispose(batch);
  });

  it('averages over real tokens only, and gives zero for none', async () => {
    await useBackend('cpu');
    const out = tf.tidy(() =>
      maskedMean(
        tf.tensor3d([
          [[1], [3], [100]],
          [[5], [7], [9]],
          [[2], [2], [2]],
        ]),
        tf.tensor2d([
          [1, 1, 0],
          [1, 1, 1],
          [0, 0, 0],
        ]),
      ).arraySync(),
    );
    expect(out).toEqual([[2], [7], [0]]);
  });

  it('is created from a registry with any attention kernel, and rejects other tasks', () => {
    const registry = createRegistry().register(
      textTransformer,
      softmaxKernelPlugin,
      gaussianKernelPlugin,
    );
    const builder = registry.create<ModelBuilder>(
      'model',
      {
        name: 'text-transformer',
        attention: { name: 'gaussian', normalize: true },
        width: 8,
        heads: 2,
      },
      { seed: 1 },
    );
    const model = builder.build(textInfo(4, 5));
    expect(model.params.names).toContain('embed.position');
    model.dispose();
    expect(
      registry.check('model', { name: 'text-transformer', width: 10, heads: 4 }, 'model').problems,
    ).toEqual([
      {
        path: 'model.heads',
        message: 'width must be a multiple of heads (or give headDim)',
        value: 4,
      },
    ]);
    expect(() => builder.build(lmInfo(4, 5))).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/text-transformer needs a text-classification dataset/),
        hint: expect.stringMatching(/spam-assassin/),
      }),
    );
  });
});
