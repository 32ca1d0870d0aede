/**
 * Targets for the loss-landscape tests, each with a float64 host reference of its loss:
 * - a ReLU network x → relu(xW₁ + b₁)W₂ (4 → 6 → 2, squared error) whose hidden units can be
 *   rescaled (column j of W₁ and b₁[j] times c_j, row j of W₂ divided by c_j): the same
 *   function, other weights;
 * - a quadratic f(w) = ½ wᵀAw + bᵀw + c over two blocks (a vector [5] and a matrix [2, 3], in
 *   that order, 11 parameters), A = Q diag(λ) Qᵀ with known λ and Q.
 */
import { Matrix, QrDecomposition } from 'ml-matrix';
import {
  ParamSet,
  Rng,
  tf,
  type AnalysisTarget,
  type Batch,
  type LossFunction,
  type Scalar,
  type Tensor,
} from '@tdx/tensor';

const [N, D, K, C] = [16, 4, 6, 2];

export interface ReluNetOptions {
  /** Per hidden unit: c_j > 0. */
  unitScales?: ArrayLike<number>;
  /** Freeze W₂ (the analysis then moves W₁ and b₁ only). */
  freezeHead?: boolean;
}

export function reluNet(seed: number, options: ReluNetOptions = {}) {
  const rng = new Rng(seed);
  const W1 = rng.normalArray(D * K, 0, 0.7);
  const b1 = rng.normalArray(K, 0.2, 0.3);
  const W2 = rng.normalArray(K * C, 0, 0.7);
  const X = rng.normalArray(N * D);
  const Y = rng.normalArray(N * C);
  const c = options.unitScales ?? new Float64Array(K).fill(1);
  for (let j = 0; j < K; j++) {
    for (let i = 0; i < D; i++) W1[i * K + j]! *= c[j]!;
    b1[j]! *= c[j]!;
    for (let o = 0; o < C; o++) W2[j * C + o]! /= c[j]!;
  }
  const params = ParamSet.create([
    { name: 'layer.weight', role: 'mlp', layer: 0, init: { values: W1, shape: [D, K] } },
    { name: 'layer.bias', role: 'bias', layer: 0, init: { values: b1, shape: [K] } },
    { name: 'head.weight', role: 'head', init: { values: W2, shape: [K, C] } },
  ]);
  if (options.freezeHead) params.freeze({ name: 'head.weight' });
  const batch: Batch = {
    inputs: tf.tensor2d(Float32Array.from(X), [N, D]),
    targets: tf.tensor2d(Float32Array.from(Y), [N, C]),
  };
  const lossOn =
    (b: Batch): LossFunction =>
    (p) =>
      tf.tidy(
        () =>
          tf.mean(
            tf.square(
              tf.sub(
                tf.matMul(
                  tf.relu(tf.add(tf.matMul(b.inputs, p['layer.weight']!), p['layer.bias']!)),
                  p['head.weight']!,
                ),
                b.targets,
              ),
            ),
          ) as Scalar,
      );
  const target = {
    params,
    lossOn,
    analysisBatch: () => batch,
    dataset: { batch: () => batch, evalBatch: () => batch },
    step: 0,
  } as unknown as AnalysisTarget;
  return {
    params,
    target,
    dispose: () => (params.dispose(), tf.dispose([batch.inputs, batch.targets])),
  };
}

export const QUADRATIC_EIGENVALUES = [6, 3.5, 2, 1.5, 1.2, 1, 0.8, 0.5, 0.2, -0.1, -0.3];

/** A random orthogonal matrix (Q of a Gaussian matrix's QR), columns as host vectors. */
function orthogonal(n: number, rng: Rng): Float64Array[] {
  const G = new Matrix(Array.from({ length: n }, () => Array.from(rng.normalArray(n))));
  const Q = new QrDecomposition(G).orthogonalMatrix;
  return Array.from({ length: n }, (_, k) => Float64Array.from(Q.getColumn(k)));
}

export function quadratic(seed: number) {
  const rng = new Rng(seed);
  const n = QUADRATIC_EIGENVALUES.length;
  const vectors = orthogonal(n, rng);
  const A = new Float64Array(n * n);
  QUADRATIC_EIGENVALUES.forEach((lambda, k) => {
    const q = vectors[k]!;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j]! += lambda * q[i]! * q[j]!;
  });
  const b = rng.normalArray(n);
  const c = 0.7;
  const w0 = rng.normalArray(n);
  const params = ParamSet.create([
    { name: 'w.vector', role: 'other', init: { values: w0.subarray(0, 5), shape: [5] } },
    { name: 'w.matrix', role: 'mlp', init: { values: w0.subarray(5), shape: [2, 3] } },
  ]);
  const At = tf.tensor2d(Float32Array.from(A), [n, n]);
  const bt = tf.tensor1d(Float32Array.from(b));
  const batch: Batch = { inputs: tf.zeros([1, 1]), targets: tf.zeros([1, 1]) };
  const lossOn = (): LossFunction => (p) =>
    tf.tidy(() => {
      const w = tf.concat([tf.reshape(p['w.vector']!, [-1]), tf.reshape(p['w.matrix']!, [-1])]);
      const Aw = tf.reshape(tf.matMul(At, tf.reshape(w, [-1, 1])), [-1]);
      return tf.add(tf.add(tf.mul(0.5, tf.sum(tf.mul(w, Aw))), tf.sum(tf.mul(bt, w))), c) as Scalar;
    });
  /** f(w) in float64. */
  const f = (w: ArrayLike<number>): number => {
    let s = c;
    for (let i = 0; i < n; i++) {
      let Aw = 0;
      for (let j = 0; j < n; j++) Aw += A[i * n + j]! * w[j]!;
      s += 0.5 * w[i]! * Aw + b[i]! * w[i]!;
    }
    return s;
  };
  /** ∇f(w) = Aw + b in float64. */
  const gradient = (w: ArrayLike<number>): Float64Array =>
    Float64Array.from({ length: n }, (_, i) => {
      let s = b[i]!;
      for (let j = 0; j < n; j++) s += A[i * n + j]! * w[j]!;
      return s;
    });
  const target = {
    params,
    lossOn,
    analysisBatch: () => batch,
    dataset: { batch: () => batch, evalBatch: () => batch },
    step: 0,
  } as unknown as AnalysisTarget;
  const kept: Tensor[] = [At, bt, batch.inputs, batch.targets];
  return {
    params,
    target,
    f,
    gradient,
    /** Unit eigenvectors, in the order of QUADRATIC_EIGENVALUES. */
    vectors,
    dispose: () => (params.dispose(), tf.dispose(kept)),
  };
}
