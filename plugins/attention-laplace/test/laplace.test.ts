import { describe, expect, it } from 'vitest';
import { Registry } from '@tdx/core';
import { register as registerModels } from '@tdx/models';
import {
  fdHessianVectorProduct,
  hvpFlat,
  relativeError,
  Rng,
  softmaxCrossEntropy,
  tf,
  useBackend,
  type AttentionKernel,
  type ModelBuilder,
  exactnessBackends,
} from '@tdx/tensor';
import { register } from '../src/index.js';

const registry = register(registerModels(Registry.create()));

for (const backend of exactnessBackends()) {
  describe(`laplace kernel [${backend}]`, () => {
    it('equals exp(−‖q−k‖/scale) computed in float64, masked keys exactly 0', async () => {
      await useBackend(backend);
      const rng = new Rng(2);
      const [T, p, scale] = [4, 3, 0.8];
      const q = Array.from(rng.normalArray(T * p));
      const k = Array.from(rng.normalArray(T * p));
      const kernel = registry.create<AttentionKernel>('attention-kernel', {
        name: 'laplace',
        scale,
      });
      const weights = tf.tidy(
        () =>
          kernel
            .weights(
              tf.tensor4d(q, [1, 1, T, p]),
              tf.tensor4d(k, [1, 1, T, p]),
              tf.linalg.bandPart(tf.ones([T, T]), -1, 0),
            )
            .arraySync() as number[][][][],
      )[0]![0]!;
      for (let i = 0; i < T; i++)
        for (let j = 0; j < T; j++) {
          const distance = Math.hypot(
            ...Array.from({ length: p }, (_, c) => q[i * p + c]! - k[j * p + c]!),
          );
          if (j > i) expect(weights[i]![j]).toBe(0);
          else expect(weights[i]![j]!).toBeCloseTo(Math.exp(-distance / scale), 5);
        }
    });

    it('gives exact Hessian-vector products inside a vit built through the registry', async () => {
      await useBackend(backend);
      const model = registry
        .create<ModelBuilder>('model', {
          name: 'vit',
          patch: 2,
          width: 8,
          heads: 2,
          layers: 1,
          mlpRatio: 2,
          initStd: 0.3,
          attention: { name: 'laplace', normalize: true },
        })
        .build({
          task: 'image-classification',
          inputShape: [4, 4, 1],
          targetShape: [],
          meta: { classes: 3 },
        });
      const rng = new Rng(5);
      const inputs = rng.uniformTensor([3, 4, 4, 1]);
      const targets = tf.tensor1d([0, 2, 1], 'int32');
      const loss = (v: Parameters<typeof model.loss>[0]) =>
        softmaxCrossEntropy(model.predict(v, inputs), targets);
      const u = rng.normalArray(model.params.size);
      const norm = Math.hypot(...u);
      const unit = u.map((x) => x / norm);
      const error = relativeError(
        hvpFlat(loss, model.params, unit),
        fdHessianVectorProduct(loss, model.params, unit),
        1e-4,
      );
      expect(error).toBeLessThan(2e-3);
      model.dispose();
      tf.dispose([inputs, targets]);
    });
  });
}
