/** The checks every model must pass: audited kernels only, a symmetric and exact HVP, no leaks. */
import { expect } from 'vitest';
import {
  isAuditedKernel,
  fdHessianVectorProduct,
  hvpFlat,
  relativeError,
  Rng,
  tf,
  type Batch,
  type LossFunction,
  type Model,
  type ParamSet,
} from '@tdx/tensor';

export async function expectExactHvp(
  model: Model,
  batch: Batch,
  options: {
    wrt?: ParamSet;
    seed?: number;
    tolerance?: number;
    /**
     * Finite-difference step (default 1e-2). Piecewise-linear models (ReLU, max pooling) need a
     * smaller one: a step that carries a unit across its kink changes the gradient by a jump
     * that no step size averages away.
     */
    step?: number;
  } = {},
): Promise<number> {
  const loss: LossFunction = (v) => model.loss(v, batch);
  const wrt = options.wrt ?? model.params.trainable();
  const rng = new Rng(options.seed ?? 1);
  const u = rng.normalArray(wrt.size);
  const w = rng.normalArray(wrt.size);
  const profile = await tf.profile(() => {
    hvpFlat(loss, model.params, u, { wrt });
  });
  expect(profile.kernelNames.filter((k) => !isAuditedKernel(k, tf.getBackend()))).toEqual([]);
  const before = tf.memory().numTensors;
  const Hu = hvpFlat(loss, model.params, u, { wrt });
  const Hw = hvpFlat(loss, model.params, w, { wrt });
  expect(tf.memory().numTensors).toBe(before);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
    Array.from(a).reduce((s, x, i) => s + x * b[i]!, 0);
  expect(Math.abs(dot(w, Hu) - dot(u, Hw))).toBeLessThan(
    1e-4 * Math.max(Math.abs(dot(w, Hu)), 1e-6),
  );
  // Unit direction, so the finite-difference step is the same size for every model.
  const norm = Math.hypot(...u);
  const unit = u.map((x) => x / norm);
  const error = relativeError(
    hvpFlat(loss, model.params, unit, { wrt }),
    fdHessianVectorProduct(loss, model.params, unit, options.step),
    1e-4,
  );
  if (!options.wrt) expect(error).toBeLessThan(options.tolerance ?? 2e-3);
  return error;
}

export function tokens(seed: number, batch: number, length: number, vocabulary: number): Batch {
  const rng = new Rng(seed);
  const draw = () => Int32Array.from({ length: batch * length }, () => rng.int(vocabulary));
  return {
    inputs: tf.tensor2d(draw(), [batch, length], 'int32'),
    targets: tf.tensor2d(draw(), [batch, length], 'int32'),
  };
}

export function images(
  seed: number,
  batch: number,
  side: number,
  classes: number,
  channels = 1,
): Batch {
  const rng = new Rng(seed);
  return {
    inputs: rng.uniformTensor([batch, side, side, channels]),
    targets: tf.tensor1d(
      Int32Array.from({ length: batch }, () => rng.int(classes)),
      'int32',
    ),
  };
}

export const lmInfo = (length: number, vocabulary: number) => ({
  task: 'language-modelling',
  inputShape: [length],
  targetShape: [length],
  meta: { vocabulary },
});
export const imageInfo = (side: number, classes: number, channels = 1) => ({
  task: 'image-classification',
  inputShape: [side, side, channels],
  targetShape: [],
  meta: { classes },
});
