/**
 * The heart of tdx's correctness: for every op the models use, on every backend, the
 * gradient and the Hessian-vector product agree with finite differences.
 */
import { expect, it } from 'vitest';
import {
  AUDITED_KERNELS,
  BACKEND_INTERNAL_KERNELS,
  gradFlat,
  hvpFlat,
  ParamSet,
  Rng,
  tf,
} from '../src/index.js';
import { describeEachBackend } from './support/backends.js';
import {
  fdDirectionalDerivative,
  fdHessianVectorProduct,
} from '../src/autodiff/finite-differences.js';
import { dot, norm, relativeError } from '../src/linalg/host.js';
import { OP_CASES, type OpCase } from './support/op-cases.js';

function withCase<T>(name: string, fn: (c: OpCase, params: ParamSet, rng: Rng) => T): T {
  const rng = new Rng(`op-case:${name}`);
  const c = OP_CASES[name]!(rng);
  const params = ParamSet.create(
    c.blocks.map((b) => ({
      name: b.name,
      role: 'other' as const,
      init: { values: b.values, shape: b.shape },
    })),
  );
  try {
    return fn(c, params, rng);
  } finally {
    params.dispose();
    for (const t of c.constants) t.dispose();
  }
}

const unit = (v: Float64Array) => {
  const n = norm(v);
  return v.map((x) => x / n);
};

describeEachBackend('gradients and Hessian-vector products of every op', () => {
  for (const name of Object.keys(OP_CASES)) {
    it(`${name}: match finite differences`, () => {
      withCase(name, (c, params, rng) => {
        for (let k = 0; k < 2; k++) {
          const v = unit(rng.normalArray(params.size));
          const { grad } = gradFlat(c.loss, params);
          const fdSlope = fdDirectionalDerivative(c.loss, params, v);
          expect(Math.abs(dot(grad, v) - fdSlope)).toBeLessThan(
            1e-3 * Math.max(Math.abs(fdSlope), norm(grad), 1e-3),
          );

          const hv = hvpFlat(c.loss, params, v);
          const fd = fdHessianVectorProduct(c.loss, params, v);
          expect(relativeError(hv, fd, 1e-3)).toBeLessThan(2e-3);
        }
      });
    });
  }

  it('leaves no tensor behind', () => {
    withCase('causal softmax attention', (c, params, rng) => {
      const v = rng.normalArray(params.size);
      hvpFlat(c.loss, params, v);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) {
        hvpFlat(c.loss, params, v);
        gradFlat(c.loss, params);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});

describeEachBackend('the audited kernel list', () => {
  it('is exactly the set of kernels the op tests above exercise', async () => {
    const used = new Set<string>();
    for (const name of Object.keys(OP_CASES)) {
      await withCase(name, async (c, params, rng) => {
        const v = rng.normalArray(params.size);
        const info = await tf.profile(() => {
          hvpFlat(c.loss, params, v);
          gradFlat(c.loss, params);
        });
        // Engine scopes are listed too; only kernels are audited.
        const internal = BACKEND_INTERNAL_KERNELS[tf.getBackend()] ?? [];
        for (const k of info.kernelNames)
          if (k !== 'unnamed scope' && !internal.includes(k)) used.add(k);
      });
    }
    expect([...used].sort()).toEqual([...AUDITED_KERNELS].sort());
  });
});
