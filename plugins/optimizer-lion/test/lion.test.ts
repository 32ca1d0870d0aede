import { beforeAll, expect, it } from 'vitest';
import { Registry } from '@tdx/core';
import {
  disposeReplaced,
  ParamSet,
  tf,
  useBackend,
  valueAndGrad,
  type GradientTransformation,
  type Scalar,
} from '@tdx/tensor';
import { register } from '../src/index.js';

beforeAll(() => useBackend('cpu'));

it('follows the update rule of Chen et al. (2023), computed by hand in float64', () => {
  const optimizer = register(Registry.create()).create<GradientTransformation>('optimizer', {
    name: 'lion',
    lr: 0.1,
    b1: 0.9,
    b2: 0.99,
    weightDecay: 0.5,
  });
  const target = [1, -2, 0.25];
  const params = ParamSet.create([
    { name: 'w', role: 'other', init: { values: [0.3, 0.4, 0.2], shape: [3] } },
  ]);
  const t = tf.tensor1d(target);
  const loss = (p: Record<string, tf.Tensor>) => tf.sum(tf.square(tf.sub(p.w!, t))) as Scalar;
  let state = tf.tidy(() => optimizer.init(params.values()) as tf.TensorContainer) as unknown;

  let w = [0.3, 0.4, 0.2];
  let m = [0, 0, 0];
  for (let step = 0; step < 6; step++) {
    const next = tf.tidy(() => {
      const { grads } = valueAndGrad(loss, params);
      const { updates, state: s } = optimizer.update(grads, state, params.values());
      params.block('w').variable.assign(tf.add(params.block('w').variable, updates.w!));
      return s as tf.TensorContainer;
    });
    disposeReplaced(state, next);
    state = next;
    const g = w.map((x, i) => 2 * (x - target[i]!));
    const direction = g.map((gi, i) => Math.sign(0.9 * m[i]! + 0.1 * gi));
    w = w.map((x, i) => x - 0.1 * (direction[i]! + 0.5 * x));
    m = m.map((mi, i) => 0.99 * mi + 0.01 * g[i]!);
    Array.from(params.block('w').variable.dataSync()).forEach((x, i) =>
      expect(x).toBeCloseTo(w[i]!, 5),
    );
  }
  params.dispose();
  t.dispose();
});
