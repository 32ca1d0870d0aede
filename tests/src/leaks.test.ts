/** No tensor outlives its step: the real model, optimizer and analysis, on every backend. */
import { describe, expect, it } from 'vitest';
import type { AnalysisInstance } from '@tdx/core';
import { createDefaultRegistry } from '@tdx/cli';
import { startMinibatchSession, tf, useBackend, exactnessBackends } from '@tdx/tensor';

for (const backend of exactnessBackends()) {
  describe(`training the linear Transformer [${backend}]`, () => {
    it('holds as many tensors after 500 steps as after 10, analyses included', async () => {
      await useBackend(backend);
      const registry = createDefaultRegistry();
      const before = tf.memory().numTensors;
      for (const optimizer of [
        { name: 'adam', lr: 0.01 },
        { name: 'sgd', lr: 0.01, momentum: 0.9 },
      ]) {
        const session = startMinibatchSession({
          dataset: registry.create(
            'dataset',
            { name: 'icl-linear-regression', batchSize: 16, evalBatchSize: 16 },
            { seed: 1 },
          ),
          model: registry.create('model', { name: 'linear-transformer' }, { seed: 2 }),
          optimizer: registry.create('optimizer', optimizer),
          seed: 0,
        });
        const analysis = registry.create<AnalysisInstance>('analysis', {
          name: 'top-hessian-eigenvalue',
          maxIterations: 5,
        });
        session.evalLoss(); // creates the dataset's fixed evaluation batch once
        for (let t = 0; t < 10; t++) session.step(t);
        await analysis.run(session.target(), { step: 10, seed: 0 });
        const after10 = tf.memory().numTensors;
        for (let t = 10; t < 500; t++) {
          session.step(t);
          if (t % 100 === 0) {
            session.evalLoss();
            await analysis.run(session.target(), { step: t, seed: t });
          }
        }
        expect(tf.memory().numTensors).toBe(after10);
        session.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}
