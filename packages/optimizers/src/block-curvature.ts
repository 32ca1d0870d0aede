/**
 * The largest-magnitude eigenvalue of each diagonal block H_bb of the Hessian, by power
 * iteration on Hessian-vector products whose vector is zero outside block b (so H v, restricted
 * to b, is H_bb v_b). Host arithmetic in float64.
 */
import { Rng, tf, type OptimizerContext, type ParamValues } from '@tdx/tensor';

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

function normalise(v: Float64Array): Float64Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return norm === 0 ? v : v.map((x) => x / norm);
}

export function blockCurvature(
  context: OptimizerContext,
  params: ParamValues,
  block: string,
  options: BlockCurvatureOptions,
): BlockCurvature {
  const shape = params[block]!.shape;
  const rng = new Rng(options.seed).fork('block-curvature', block);
  let v = normalise(rng.normalArray(params[block]!.size));
  let estimate = 0;
  for (let iteration = 1; iteration <= options.maxIterations; iteration++) {
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
    let rayleigh = 0;
    for (let i = 0; i < w.length; i++) rayleigh += v[i]! * w[i]!;
    const next = Math.abs(rayleigh);
    const converged =
      iteration > 1 && Math.abs(next - estimate) <= options.tolerance * Math.max(next, 1e-30);
    estimate = next;
    if (converged) return { eigenvalue: estimate, iterations: iteration, converged: true };
    const nextV = normalise(w);
    if (nextV === w) return { eigenvalue: 0, iterations: iteration, converged: true }; // H_bb v = 0
    v = nextV;
  }
  return { eigenvalue: estimate, iterations: options.maxIterations, converged: false };
}
