/**
 * The SLQ analyses split into (operator, probe) parts that tdx may compute in other processes.
 * Here the parts are computed on a second copy of the network whose parameters differ (as a
 * worker's, rebuilt at initialisation, would), from the shared JSON alone: put together, they
 * must equal the analysis computed in one piece.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type AnalysisInstance } from '@tdx/core';
import { Rng, tf, useBackend, type AnalysisTarget, exactnessBackends } from '@tdx/tensor';
import { register } from '../src/index.js';
import { smallNetwork } from './small-network.js';

const withEvalBatch = (net: ReturnType<typeof smallNetwork>): AnalysisTarget => ({
  ...net.target,
  dataset: { ...net.target.dataset, evalBatch: () => net.evalBatch },
});

for (const backend of exactnessBackends()) {
  describe(`SLQ analyses in parts [${backend}]`, () => {
    let run: ReturnType<typeof smallNetwork>;
    let worker: ReturnType<typeof smallNetwork>;
    beforeAll(async () => {
      await useBackend(backend);
      run = smallNetwork(1);
      worker = smallNetwork(1);
      // The worker starts elsewhere: its parameters must come from the shared JSON.
      worker.params.assign(new Rng(9).normalArray(worker.params.size));
    });
    afterAll(() => {
      run.dispose();
      worker.dispose();
    });

    const configs = [
      { name: 'block-heterogeneity', probes: 3, steps: 8, exclude: [] },
      { name: 'hessian-spectrum', probes: 2, steps: 10, scope: 'both', exclude: [] },
    ];
    for (const config of configs) {
      it(`${config.name}: the parts put together equal the whole`, async () => {
        const analysis = register(createRegistry()).create<AnalysisInstance>('analysis', config);
        const ctx = { step: 0, seed: 17 };
        const target = withEvalBatch(run);
        const whole = await analysis.run(target, ctx);

        const plan = analysis.parallel!.plan(target, ctx)!;
        // 3 blocks × probes; the spectrum adds the full Hessian.
        const operators = config.name === 'hessian-spectrum' ? 4 : 3;
        expect(plan.parts).toBe(operators * config.probes);
        const shared = JSON.parse(JSON.stringify(plan.shared)) as unknown;
        const parts = Array.from({ length: plan.parts }, (_, i) =>
          JSON.parse(
            JSON.stringify(analysis.parallel!.part(withEvalBatch(worker), ctx, i, shared)),
          ),
        );
        expect(analysis.parallel!.combine(target, ctx, parts)).toEqual(whole);
      });
    }

    it('stays whole when the dataset has no evaluation batch (the batch depends on the step)', () => {
      const analysis = register(createRegistry()).create<AnalysisInstance>('analysis', {
        name: 'block-heterogeneity',
      });
      expect(analysis.parallel!.plan(run.target, { step: 0, seed: 0 })).toBeUndefined();
    });
  });
}

describe('examples: the first N examples of the analysis batch', () => {
  it('gives the analysis of a batch cut to N examples, and frees what it cut', async () => {
    await useBackend('wasm');
    const net = smallNetwork(2);
    const first = {
      inputs: tf.slice(net.evalBatch.inputs, 0, 6),
      targets: tf.slice(net.evalBatch.targets, 0, 6),
    };
    const analysis = (config: Record<string, unknown>) =>
      register(createRegistry()).create<AnalysisInstance>('analysis', {
        name: 'block-heterogeneity',
        probes: 2,
        steps: 6,
        exclude: [],
        ...config,
      });
    const ctx = { step: 0, seed: 3 };
    const before = tf.memory().numTensors;
    const cut = await analysis({ examples: 6 }).run(net.target, ctx);
    expect(tf.memory().numTensors).toBe(before);
    const reference = await analysis({}).run({ ...net.target, analysisBatch: () => first }, ctx);
    expect(cut).toEqual(reference);
    const whole = await analysis({}).run(net.target, ctx);
    expect(whole.value).not.toBe(cut.value);
    tf.dispose([first.inputs, first.targets]);
    net.dispose();
  });
});
