/**
 * The largest-magnitude eigenvalue of each diagonal block H_bb of the Hessian, by power
 * iteration (@tdx/tensor's, float64 on the host) on Hessian-vector products whose vector is
 * zero outside block b (so H v, restricted to b, is H_bb v_b).
 */
import { powerIteration, Rng, tf, type OptimizerContext, type ParamValues } from '@tdx/tensor';

export interface BlockCurvatureOptions {
  maxIterations: number;
  /** Relative change of the estimate below which the iteration stops. */
  tolerance: number;
  seed: number;
}

export interface BlockCurvature {
  /** |λ|max(H_bb). */
  eigenvalue: number;
  iterations: number;
  converged: boolean;
}

export function blockCurvature(
  context: OptimizerContext,
  params: ParamValues,
  block: string,
  options: BlockCurvatureOptions,
): BlockCurvature {
  const shape = params[block]!.shape;
  const rng = new Rng(options.seed).fork('block-curvature', block);
  const apply = (v: Float64Array): Float64Array => {
    // The product leaves the tidy as a tensor: a typed array returned from tf.tidy is walked
    // element by element in search of tensors.
    const hv = tf.tidy(() => {
      const vector: ParamValues = {};
      for (const [name, p] of Object.entries(params))
        vector[name] = name === block ? tf.tensor(Float32Array.from(v), shape) : tf.zerosLike(p);
      return context.hvp(vector)[block]!;
    });
    const w = Float64Array.from(hv.dataSync());
    hv.dispose();
    return w;
  };
  const result = powerIteration(apply, params[block]!.size, {
    start: rng.normalArray(params[block]!.size),
    maxIterations: options.maxIterations,
    tolerance: options.tolerance,
  });
  return {
    eigenvalue: Math.abs(result.eigenvalue),
    iterations: result.iterations,
    converged: result.converged,
  };
}
