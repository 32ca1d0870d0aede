/**
 * tdx's reverse pass (autodiff/tape.ts) with the lean gradients and shared saves against
 * TF.js's own machinery (engine.gradients, TF.js's gradients of the same kernels, copying
 * saves): gradients and Hessian-vector products of every op case agree to float32 rounding,
 * on every backend. The finite-difference tests (hvp-ops.test.ts) check both against an
 * independent reference; this one shows the faster path changes no number beyond rounding.
 */
import { expect, it } from 'vitest';
import { gradFlat, hvpFlat, ParamSet, Rng, tf, type Tensor } from '../src/index.js';
import { withStockLeanGradients } from '../src/autodiff/lean-gradients.js';
import { withCopyingSaves } from '../src/autodiff/shared-saves.js';
import { relativeError } from '../src/linalg/host.js';
import { describeEachBackend } from './support/backends.js';
import { OP_CASES } from './support/op-cases.js';

/** H v through TF.js's engine.gradients, as tdx computed it before its own reverse pass. */
function referenceHvp(
  loss: (p: Record<string, Tensor>) => tf.Scalar,
  params: ParamSet,
  v: Float64Array,
): { grad: Float64Array; hv: Float64Array } {
  const xs = params.blocks.map((b) => b.variable);
  const values = params.values();
  const [grad, hv] = tf.tidy(() => {
    const parts = params.unflatten(v);
    const engine = tf.engine();
    const first = engine.gradients(() => loss(values), xs, undefined, true);
    const { grads } = engine.gradients(
      () => {
        const g = engine.gradients(() => loss(values), xs, undefined, true).grads;
        return tf.addN(params.blocks.map((b, i) => tf.sum(tf.mul(g[i]!, parts[b.name]!))));
      },
      xs,
      undefined,
      true,
    );
    const flat = (ts: Tensor[]) =>
      tf.concat(ts.map((t, i) => tf.reshape(t ?? tf.zerosLike(xs[i]!), [-1])));
    return [flat(first.grads), flat(grads)];
  });
  // Read outside the tidy: tidy walks a returned typed array element by element.
  const result = {
    grad: Float64Array.from(grad!.dataSync()),
    hv: Float64Array.from(hv!.dataSync()),
  };
  tf.dispose([grad!, hv!]);
  return result;
}

describeEachBackend('the lean reverse pass against TF.js’s own', () => {
  for (const name of Object.keys(OP_CASES)) {
    it(`${name}: same gradient and Hessian-vector product`, () => {
      const rng = new Rng(`lean:${name}`);
      const c = OP_CASES[name]!(rng);
      const params = ParamSet.create(
        c.blocks.map((b) => ({
          name: b.name,
          role: 'other' as const,
          init: { values: b.values, shape: b.shape },
        })),
      );
      try {
        const v = rng.normalArray(params.size);
        const reference = withStockLeanGradients(() =>
          withCopyingSaves(() => referenceHvp(c.loss, params, v)),
        );
        const { grad } = gradFlat(c.loss, params);
        const hv = hvpFlat(c.loss, params, v);
        expect(relativeError(grad, reference.grad, 1e-6)).toBeLessThan(1e-6);
        expect(relativeError(hv, reference.hv, 1e-6)).toBeLessThan(1e-6);
      } finally {
        params.dispose();
        tf.dispose(c.constants);
      }
    });
  }
});
