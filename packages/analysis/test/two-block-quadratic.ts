/** A two-block quadratic target whose blocks' Hessians are known exactly (any spectra asked). */
import { Matrix, QrDecomposition } from 'ml-matrix';
import {
  ParamSet,
  Rng,
  tf,
  type AnalysisTarget,
  type Batch,
  type LossFunction,
  type Scalar,
} from '@tdx/tensor';

/** ½ aᵀAa + ½ bᵀBb: two blocks whose Hessians are A and B exactly. */
export function twoBlockQuadratic(spectrumA: number[], spectrumB: number[]) {
  const rng = new Rng(4);
  const rotate = (values: number[]) => {
    const n = values.length;
    const G = new Matrix(Array.from({ length: n }, () => Array.from(rng.normalArray(n))));
    const Q = new QrDecomposition(G).orthogonalMatrix;
    return Q.mmul(Matrix.diag(values)).mmul(Q.transpose());
  };
  const A = tf.tensor2d(rotate(spectrumA).to2DArray());
  const B = tf.tensor2d(rotate(spectrumB).to2DArray());
  const params = ParamSet.create([
    {
      name: 'a',
      role: 'query',
      init: { values: rng.normalArray(spectrumA.length), shape: [spectrumA.length, 1] },
    },
    {
      name: 'b',
      role: 'mlp',
      init: { values: rng.normalArray(spectrumB.length), shape: [spectrumB.length, 1] },
    },
  ]);
  const lossOn = (): LossFunction => (p) =>
    tf.tidy(
      () =>
        tf.mul(
          0.5,
          tf.add(
            tf.sum(tf.mul(p.a!, tf.matMul(A, p.a!))),
            tf.sum(tf.mul(p.b!, tf.matMul(B, p.b!))),
          ),
        ) as Scalar,
    );
  const target = {
    params,
    lossOn,
    analysisBatch: () => ({}) as Batch,
    dataset: { batch: () => ({}) },
    step: 0,
  } as unknown as AnalysisTarget;
  return { target, dispose: () => (params.dispose(), tf.dispose([A, B])) };
}
