import { describe, expect, it } from 'vitest';
import { createRegistry } from '@tdx/core';
import { Rng, softmax, tf, useBackend, exactnessBackends } from '@tdx/tensor';
import { buildGpt, gptConfig, register, scaledDotProductAttention } from '../src/index.js';
import { expectExactHvp, lmInfo, tokens } from './support/checks.js';

const tiny = gptConfig.parse({ layers: 2, width: 8, heads: 2, mlpRatio: 2, initStd: 0.3 });

for (const backend of exactnessBackends()) {
  describe(`gpt [${backend}]`, () => {
    it('has exact Hessian-vector products over every block, and over the query blocks alone', async () => {
      await useBackend(backend);
      const model = buildGpt(tiny, lmInfo(5, 7), 3);
      const batch = tokens(2, 3, 5, 7);
      await expectExactHvp(model, batch);
      await expectExactHvp(model, batch, { wrt: model.params.select({ role: 'query' }) });
      model.dispose();
      tf.dispose([batch.inputs, batch.targets]);
    });

    it('is causal: changing a later token leaves earlier logits unchanged', async () => {
      await useBackend(backend);
      const model = buildGpt(tiny, lmInfo(6, 7), 4);
      tf.tidy(() => {
        const a = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
        const b = tf.tensor2d([[1, 2, 3, 0, 0, 0]], [1, 6], 'int32');
        const la = model.predict(model.params.values(), a).arraySync() as number[][][];
        const lb = model.predict(model.params.values(), b).arraySync() as number[][][];
        for (let t = 0; t < 3; t++)
          la[0]![t]!.forEach((x, v) => expect(x).toBeCloseTo(lb[0]![t]![v]!, 5));
        expect(Math.abs(la[0]![4]![0]! - lb[0]![4]![0]!)).toBeGreaterThan(1e-6);
      });
      model.dispose();
    });
  });
}

describe('gpt', () => {
  it('computes attention as softmax(q kᵀ/√d + mask) v, checked by hand', async () => {
    await useBackend('cpu');
    const rng = new Rng(5);
    const [T, d] = [3, 2];
    const q = Array.from({ length: T }, () => Array.from(rng.normalArray(d)));
    const k = Array.from({ length: T }, () => Array.from(rng.normalArray(d)));
    const v = Array.from({ length: T }, () => Array.from(rng.normalArray(d)));
    const mask = [
      [0, -1e9, -1e9],
      [0, 0, -1e9],
      [0, 0, 0],
    ];
    const out = tf.tidy(() =>
      scaledDotProductAttention(
        tf.tensor4d([[q]], [1, 1, T, d]),
        tf.tensor4d([[k]], [1, 1, T, d]),
        tf.tensor4d([[v]], [1, 1, T, d]),
        tf.tensor2d(mask.map((row) => row.map((m) => (m === 0 ? 1 : 0)))),
      ).arraySync(),
    ) as number[][][][];
    for (let i = 0; i < T; i++) {
      const scores = k.map(
        (kj, j) => (q[i]![0]! * kj[0]! + q[i]![1]! * kj[1]!) / Math.sqrt(d) + mask[i]![j]!,
      );
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < d; c++)
        expect(out[0]![0]![i]![c]).toBeCloseTo(
          e.reduce((s, ej, j) => s + (ej / z) * v[j]![c]!, 0),
          5,
        );
    }
    expect(softmax).toBeTypeOf('function');
  });

  it('starts near ln V (uniform predictions) and has the block layout of the reference GPT', async () => {
    await useBackend('wasm');
    const model = buildGpt(gptConfig.parse({}), lmInfo(32, 64), 0);
    const batch = tokens(1, 16, 32, 64);
    const loss = tf.tidy(() => model.loss(model.params.values(), batch).dataSync()[0]!);
    expect(Math.abs(loss - Math.log(64))).toBeLessThan(0.05);
    expect(model.params.select({ role: ['query', 'key', 'value', 'output'] }).names).toEqual([
      'layers.0.attn.query',
      'layers.0.attn.key',
      'layers.0.attn.value',
      'layers.0.attn.output',
      'layers.1.attn.query',
      'layers.1.attn.key',
      'layers.1.attn.value',
      'layers.1.attn.output',
    ]);
    // The reference GPT's parameter count (pytorch_workloads.py): embeddings 64·64 + 32·64, per block
    // 2·128 (norms) + 4·(64·64 + 64) + (64·256 + 256) + (256·64 + 64), final norm 128, head 64·64 + 64.
    expect(model.params.size).toBe(4096 + 2048 + 2 * (256 + 4 * 4160 + 16640 + 16448) + 128 + 4160);
    model.dispose();
    tf.dispose([batch.inputs, batch.targets]);
  });

  it('ties the head to the embedding when asked, and rejects a width the heads cannot split', () => {
    const registry = register(createRegistry());
    expect(registry.check('model', { name: 'gpt', width: 10, heads: 4 }, 'model').problems).toEqual(
      [
        {
          path: 'model.heads',
          message: 'width must be a multiple of heads (or give headDim)',
          value: 4,
        },
      ],
    );
    const tied = buildGpt(gptConfig.parse({ width: 8, heads: 2, tiedHead: true }), lmInfo(4, 5), 1);
    expect(tied.params.names).not.toContain('head');
    tied.dispose();
    expect(() =>
      buildGpt(
        tiny,
        {
          task: 'image-classification',
          inputShape: [28, 28, 1],
          targetShape: [],
          meta: { classes: 10 },
        },
        0,
      ),
    ).toThrow(/gpt needs a language-modelling dataset/);
  });
});
