/** gradient-norm against the closed form of a diagonal quadratic: ∇ = λ ⊙ w. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ParamSet,
  tf,
  useBackend,
  type AnalysisTarget,
  type Batch,
  exactnessBackends,
} from '@tdx/tensor';
import { gradientNorm } from '../src/index.js';
import { gradientNormConfig } from '../src/plugins/gradient-norm.js';

describe.each(exactnessBackends())('gradient-norm [%s]', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('equals ‖λ ⊙ w‖ over the trainable blocks, and per block', () => {
    const lambda = { a: [1, 2], b: [3, 4, 5] };
    const w = { a: [0.5, -1], b: [2, 0, 1] };
    const params = ParamSet.create([
      { name: 'a', role: 'other', init: { values: w.a, shape: [2] } },
      { name: 'b', role: 'other', init: { values: w.b, shape: [3] } },
      { name: 'frozen', role: 'other', init: { values: [7], shape: [1] } },
    ]).freeze({ name: 'frozen' });
    const batch = { inputs: tf.zeros([1]), targets: tf.zeros([1]) } as Batch;
    const target = {
      params,
      step: 0,
      analysisBatch: () => batch,
      lossOn: () => (p: Record<string, tf.Tensor>) =>
        tf.tidy(() =>
          tf.addN([
            ...(['a', 'b'] as const).map((n) =>
              tf.mul(0.5, tf.sum(tf.mul(tf.tensor1d(lambda[n]), tf.square(p[n]!)))),
            ),
            tf.sum(tf.square(p.frozen!)),
          ]),
        ),
    } as unknown as AnalysisTarget;
    const before = tf.memory().numTensors;
    const out = gradientNorm(target, gradientNormConfig.parse({}));
    expect(tf.memory().numTensors).toBe(before);
    const norm = (n: 'a' | 'b') => Math.hypot(...lambda[n].map((l, i) => l * w[n][i]!));
    expect(out.value).toBeCloseTo(Math.hypot(norm('a'), norm('b')), 5);
    expect(out.data).toEqual({
      blocks: { a: expect.closeTo(norm('a'), 5), b: expect.closeTo(norm('b'), 5) },
    });
    params.dispose();
  });
});
