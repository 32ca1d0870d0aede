/**
 * Blockwise GD against closed forms: on a block-diagonal quadratic with known block spectra,
 * its rates are 1 / λmax(H_bb), and each block's error then contracts exactly as
 * (1 − λ/λmax(H_bb)) along each eigenvector λ of its block.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  hvp,
  ParamSet,
  tf,
  useBackend,
  valueAndGrad,
  type LossFunction,
  type OptimizerContext,
  exactnessBackends,
} from '@tdx/tensor';
import { blockwiseGd, blockwiseGdConfig, type BlockwiseGdState } from '../src/index.js';

// Two diagonal blocks with eigenvalues far apart: GD with one rate would crawl on block a.
const spectra = { a: [0.01, 0.02, 0.05], b: [10, 40, 100] };

function problem() {
  const params = ParamSet.create([
    { name: 'a', role: 'other', init: { values: [1, 1, 1], shape: [3] } },
    { name: 'b', role: 'other', init: { values: [1, 1, 1], shape: [3] } },
  ]);
  const loss: LossFunction = (p) =>
    tf.tidy(() =>
      tf.addN(
        (['a', 'b'] as const).map((n) =>
          tf.mul(0.5, tf.sum(tf.mul(tf.tensor1d(spectra[n]), tf.square(p[n]!)))),
        ),
      ),
    ) as tf.Scalar;
  const context: OptimizerContext = { hvp: (v) => hvp(loss, params, v) };
  return { params, loss, context };
}

describe.each(exactnessBackends())('blockwise-gd [%s]', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('sets each block rate to scale / λmax of its Hessian block', () => {
    const { params, context } = problem();
    const opt = blockwiseGd(blockwiseGdConfig.parse({ scale: 0.5 }), 3);
    const state = opt.init(params.values(), context); // plain numbers, no tensors
    expect(state.curvature.a!.eigenvalue).toBeCloseTo(0.05, 5);
    expect(state.curvature.b!.eigenvalue).toBeCloseTo(100, 2);
    expect(state.lr.a).toBeCloseTo(0.5 / 0.05, 2);
    expect(state.lr.b).toBeCloseTo(0.5 / 100, 5);
    params.dispose();
  });

  it('contracts every coordinate by (1 − lr_b λ) per step, as the closed form says', () => {
    const { params, loss, context } = problem();
    const opt = blockwiseGd(blockwiseGdConfig.parse({ blockLr: { b: 0.01 } }));
    const state: BlockwiseGdState = opt.init(params.values(), context);
    expect(state.lr.b).toBe(0.01); // given, not estimated
    expect(state.curvature.b).toBeUndefined();
    const steps = 20;
    for (let t = 0; t < steps; t++) {
      tf.tidy(() => {
        const { grads } = valueAndGrad(loss, params);
        const { updates } = opt.update(grads, state, params.values());
        for (const block of params.blocks)
          block.variable.assign(tf.add(block.variable, updates[block.name]!));
      });
    }
    const lr = { a: state.lr.a!, b: 0.01 };
    for (const n of ['a', 'b'] as const) {
      const got = Array.from(params.block(n).variable.dataSync());
      const expected = spectra[n].map((lambda) => (1 - lr[n] * lambda) ** steps);
      for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(expected[i]!, 4);
    }
    params.dispose();
  });

  it('says what is missing without curvature, and names unknown blocks', () => {
    const { params, context } = problem();
    expect(() => blockwiseGd(blockwiseGdConfig.parse({})).init(params.values())).toThrow(
      /needs the loss's curvature to set the rate of block "a"/,
    );
    expect(() =>
      blockwiseGd(blockwiseGdConfig.parse({ blockLr: { c: 1 } })).init(params.values(), context),
    ).toThrow(/blockLr names "c", which is not a trainable block/);
    params.dispose();
  });
});
