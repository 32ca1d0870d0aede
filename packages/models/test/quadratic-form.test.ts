import { expect, it } from 'vitest';
import { gradFlat, hvpFlat, tf, useBackend } from '@tdx/tensor';
import { buildQuadraticForm } from '../src/index.js';

it('gives the suboptimality ½wᵀHw − hᵀw − f*, gradient Hw − h, Hessian H, one block per block of H', async () => {
  await useBackend('cpu');
  const H = [
    [2, 1, 0],
    [1, 3, 0],
    [0, 0, 5],
  ];
  const h = [1, -1, 2];
  // w* = H⁻¹h by hand: the 2×2 block's inverse is [[3, −1], [−1, 2]] / 5; f* = −½ hᵀw*.
  const minimiser = [0.8, -0.6, 0.4];
  const optimum = -0.5 * h.reduce((s, x, i) => s + x * minimiser[i]!, 0);
  const info = {
    task: 'quadratic',
    inputShape: [3, 3],
    targetShape: [2, 3],
    meta: { blockSizes: '2,1', optimum },
  };
  const model = buildQuadraticForm({ initStd: 1 }, info, 4);
  expect(model.params.names).toEqual(['block.0', 'block.1']);
  model.params.assign([1, 2, 3]);
  const batch = { inputs: tf.tensor3d([H]), targets: tf.tensor3d([[h, minimiser]]) };
  const w = [1, 2, 3];
  const Hw = H.map((row) => row.reduce((s, x, j) => s + x * w[j]!, 0));
  const f =
    0.5 * w.reduce((s, x, i) => s + x * Hw[i]!, 0) -
    h.reduce((s, x, i) => s + x * w[i]!, 0) -
    optimum;
  const { value, grad } = gradFlat((v) => model.loss(v, batch), model.params);
  expect(value).toBeCloseTo(f, 5);
  Hw.forEach((x, i) => expect(grad[i]).toBeCloseTo(x - h[i]!, 5));
  expect(Array.from(hvpFlat((v) => model.loss(v, batch), model.params, [0, 1, 0]))).toEqual([
    1, 3, 0,
  ]);
  model.dispose();
  tf.dispose([batch.inputs, batch.targets]);
});
