/**
 * Per-block gradient clipping (Ahn et al.'s per-matrix clipping) against the closed form
 * g_b · min(1, r/‖g_b‖), block by block, and through the registry with an inner optimizer.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from '@tdx/core';
import {
  exactnessBackends,
  tf,
  useBackend,
  type GradientTransformation,
  type ParamValues,
} from '@tdx/tensor';
import { clipByBlockNorm, clipByGlobalNorm, register } from '../src/index.js';

/** Gradient blocks of norms 5 (3-4-0), 0.5 and 0 (a zero block), as tensors. */
const blocks = {
  a: [
    [3, 0],
    [0, 4],
  ],
  b: [0.3, -0.4],
  c: [0, 0, 0],
};
const grads = (): ParamValues => ({
  a: tf.tensor2d(blocks.a),
  b: tf.tensor1d(blocks.b),
  c: tf.tensor1d(blocks.c),
});

function apply(t: GradientTransformation, steps = 1): Record<string, number[]> {
  return tf.tidy(() => {
    const g = grads();
    let state = t.init(g);
    let updates = g;
    for (let s = 0; s < steps; s++) ({ updates, state } = t.update(g, state, g));
    return Object.fromEntries(
      Object.entries(updates).map(([k, v]) => [k, Array.from(v.dataSync())]),
    );
  });
}

const close = (actual: number[], expected: number[]) =>
  actual.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 6));

for (const backend of exactnessBackends()) {
  describe(`clip-by-block-norm [${backend}]`, () => {
    it('scales each block to norm r when above it, leaves the others (and zero blocks) alone', async () => {
      await useBackend(backend);
      // r = 1: a (norm 5) shrinks by 1/5; b (0.5) and c (0) are unchanged.
      const one = apply(clipByBlockNorm(1));
      close(one.a!, [0.6, 0, 0, 0.8]);
      close(one.b!, [0.3, -0.4]);
      close(one.c!, [0, 0, 0]);
      // r = 0.1: both non-zero blocks end at norm exactly 0.1, each along its own direction.
      const small = apply(clipByBlockNorm(0.1));
      close(small.a!, [0.06, 0, 0, 0.08]);
      close(small.b!, [0.06, -0.08]);
      // Unlike global clipping, which scales every block by r / ‖g‖ (‖g‖ = √25.25).
      const global = apply(clipByGlobalNorm(1));
      const c = 1 / (Math.sqrt(25.25) + 1e-6); // with PyTorch's 1e-6
      close(global.b!, [0.3 * c, -0.4 * c]);
      const before = tf.memory().numTensors;
      apply(clipByBlockNorm(1), 5);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('as a plugin: clips, then hands the clipped gradients to the inner optimizer', async () => {
      await useBackend(backend);
      const registry = register(Registry.create());
      const sgd = registry.create('optimizer', {
        name: 'clip-by-block-norm',
        maxNorm: 1,
        optimizer: { name: 'sgd', lr: 0.1 },
      });
      const out = apply(sgd);
      close(out.a!, [-0.06, 0, 0, -0.08]);
      close(out.b!, [-0.03, 0.04]);
      // Adam's first step is -lr·sign(g) whatever the scale: the clipping must not change it.
      const adam = registry.create('optimizer', {
        name: 'clip-by-block-norm',
        maxNorm: 0.01,
        optimizer: { name: 'adam', lr: 0.5, eps: 1e-12 },
      });
      const first = apply(adam);
      close(first.a!, [-0.5, 0, 0, -0.5]);
      close(first.b!, [-0.5, 0.5]);
      expect(() =>
        registry.create('optimizer', { name: 'clip-by-block-norm', maxNorm: -1, optimizer: 'sgd' }),
      ).toThrow();
    });
  });
}
