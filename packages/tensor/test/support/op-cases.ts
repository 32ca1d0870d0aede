/**
 * One scalar loss per op the models use, built so that the op's second derivative matters:
 * a fixed linear mixing before or after the op makes the Hessian dense, and several cases
 * have more than one parameter block so cross terms are tested too. Piecewise-linear ops
 * are evaluated at points away from their kinks, where finite differences are valid.
 */
import {
  embedding,
  gelu,
  layerNorm,
  logSoftmax,
  logSumExp,
  meanSquaredError,
  softmax,
  softmaxCrossEntropy,
  tf,
  type ParamValues,
  type Rng,
  type Scalar,
  type Tensor,
} from '../../src/index.js';

export interface BlockInit {
  name: string;
  shape: number[];
  values: Float64Array;
}

export interface OpCase {
  name: string;
  blocks: BlockInit[];
  loss: (p: ParamValues) => Scalar;
  /** Tensors the loss closes over, disposed after the case. */
  constants: Tensor[];
}

type Builder = (rng: Rng) => OpCase;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Values whose magnitude is at least `gap`: no kink of relu/abs/elu within reach of h. */
function awayFromZero(rng: Rng, n: number, gap = 0.3): Float64Array {
  return Float64Array.from(
    { length: n },
    () => (rng.uniform() < 0.5 ? -1 : 1) * (gap + Math.abs(rng.normal())),
  );
}

/** Distinct, well-separated values in random order: no ties for max/min. */
function separated(rng: Rng, n: number): Float64Array {
  return Float64Array.from(
    rng.shuffle(Array.from({ length: n }, (_, i) => (i - n / 2) * 0.25 + 0.05 * rng.uniform())),
  );
}

function caseBuilder(
  name: string,
  blocks: Array<{ name: string; shape: number[]; values?: (rng: Rng, n: number) => Float64Array }>,
  make: (rng: Rng, constant: (t: Tensor) => Tensor) => (p: ParamValues) => Tensor,
): Builder {
  return (rng) => {
    const constants: Tensor[] = [];
    const constant = (t: Tensor) => {
      constants.push(t);
      return t;
    };
    const inits = blocks.map((b) => ({
      name: b.name,
      shape: b.shape,
      values: (b.values ?? ((r: Rng, n: number) => r.normalArray(n, 0, 0.7)))(rng, size(b.shape)),
    }));
    const body = make(rng, constant);
    return { name, blocks: inits, loss: (p) => body(p) as Scalar, constants };
  };
}

const X = { name: 'x', shape: [4, 6] };
const normal = (rng: Rng, shape: number[], std = 1) => rng.normalTensor(shape, 0, std);

/** sum(c * op(x M)) with fixed c and a 6x6 mixing M. */
function mixed(name: string, op: (u: Tensor) => Tensor, scale = 0.5): Builder {
  return caseBuilder(name, [X], (rng, constant) => {
    const m = constant(normal(rng, [6, 6], scale));
    const c = constant(normal(rng, [4, 6]));
    return (p) => tf.sum(tf.mul(c, op(tf.matMul(p.x!, m))));
  });
}

/** sum(c * tanh(op(x) M)) with x away from op's kinks. */
function piecewise(name: string, op: (x: Tensor) => Tensor, values = awayFromZero): Builder {
  return caseBuilder(name, [{ ...X, values }], (rng, constant) => {
    const m = constant(normal(rng, [6, 6], 0.5));
    const c = constant(normal(rng, [4, 6]));
    return (p) => tf.sum(tf.mul(c, tf.tanh(tf.matMul(op(p.x!), m))));
  });
}

export const OP_CASES: Record<string, Builder> = {
  tanh: mixed('tanh', (u) => tf.tanh(u)),
  sigmoid: mixed('sigmoid', (u) => tf.sigmoid(u)),
  exp: mixed('exp', (u) => tf.exp(u), 0.3),
  softmax: mixed('softmax', (u) => tf.mul(3, softmax(u))),
  'log-softmax': mixed('log-softmax', (u) => logSoftmax(u)),
  'log-sum-exp': mixed('log-sum-exp', (u) => tf.tanh(logSumExp(u, -1, true))),
  'gelu (erf)': mixed('gelu (erf)', (u) => gelu(u, 'exact')),
  'gelu (tanh)': mixed('gelu (tanh)', (u) => gelu(u, 'tanh')),
  erf: mixed('erf', (u) => tf.erf(u)),
  softplus: mixed('softplus', (u) => tf.softplus(u)),
  square: mixed('square', (u) => tf.tanh(tf.square(u))),
  sqrt: mixed('sqrt', (u) => tf.sqrt(tf.add(tf.square(u), 1))),
  rsqrt: mixed('rsqrt', (u) => tf.rsqrt(tf.add(tf.square(u), 1))),
  'pow (constant exponent)': mixed('pow (constant exponent)', (u) => tf.pow(u, 3)),
  log: mixed('log', (u) => tf.log(tf.add(tf.square(u), 0.5))),
  reciprocal: mixed('reciprocal', (u) => tf.reciprocal(tf.add(tf.square(u), 1))),
  relu: piecewise('relu', (x) => tf.relu(x)),
  'leaky relu': piecewise('leaky relu', (x) => tf.leakyRelu(x, 0.2)),
  elu: piecewise('elu', (x) => tf.elu(x)),
  abs: piecewise('abs', (x) => tf.abs(x)),
  'clip by value': piecewise(
    'clip by value',
    (x) => tf.clipByValue(x, -1, 1),
    (rng, n) =>
      Float64Array.from(
        { length: n },
        (_, i) => [-1.8, -0.5, 0.1, 0.6, 1.7][i % 5]! + 0.1 * rng.uniform(),
      ),
  ),
  'max (reduction)': caseBuilder(
    'max (reduction)',
    [{ ...X, values: separated }],
    (rng, constant) => {
      const c = constant(normal(rng, [4]));
      return (p) =>
        tf.sum(tf.mul(c, tf.tanh(tf.mul(0.2, tf.mul(tf.max(p.x!, -1), tf.sum(p.x!, -1))))));
    },
  ),
  'min (reduction)': caseBuilder(
    'min (reduction)',
    [{ ...X, values: separated }],
    (rng, constant) => {
      const c = constant(normal(rng, [6]));
      return (p) =>
        tf.sum(tf.mul(c, tf.tanh(tf.mul(0.5, tf.mul(tf.min(p.x!, 0), tf.mean(p.x!, 0))))));
    },
  ),
  'maximum, minimum': caseBuilder(
    'maximum, minimum',
    [
      {
        ...X,
        values: (rng, n) =>
          Float64Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) + 0.3 * rng.normal()),
      },
      { name: 'y', shape: [4, 6], values: (rng, n) => rng.normalArray(n, 0, 0.1) },
    ],
    (rng, constant) => {
      const m = constant(normal(rng, [6, 6], 0.5));
      const c = constant(normal(rng, [4, 6]));
      return (p) =>
        tf.sum(
          tf.mul(
            c,
            tf.tanh(
              tf.matMul(tf.add(tf.maximum(p.x!, p.y!), tf.square(tf.minimum(p.x!, p.y!))), m),
            ),
          ),
        );
    },
  ),
  'where (select)': caseBuilder('where (select)', [X], (rng, constant) => {
    const m = constant(normal(rng, [6, 6], 0.5));
    const c = constant(normal(rng, [4, 6]));
    const mask = constant(tf.greater(normal(rng, [4, 6]), 0));
    return (p) => {
      const u = tf.matMul(p.x!, m);
      return tf.sum(tf.mul(c, tf.where(mask, tf.tanh(u), tf.square(u))));
    };
  }),
  'pow (tensor base and exponent)': caseBuilder(
    'pow (tensor base and exponent)',
    [
      {
        name: 'a',
        shape: [3, 4],
        values: (rng, n) => Float64Array.from({ length: n }, () => 0.5 + rng.uniform()),
      },
      { name: 'b', shape: [3, 4], values: (rng, n) => rng.normalArray(n, 0, 0.8) },
    ],
    (rng, constant) => {
      const c = constant(normal(rng, [3, 4]));
      return (p) => tf.sum(tf.mul(c, tf.pow(p.a!, p.b!)));
    },
  ),
  'add, sub, mul, div, neg with broadcasting': caseBuilder(
    'add, sub, mul, div, neg with broadcasting',
    [X, { name: 'y', shape: [6] }],
    (rng, constant) => {
      const m = constant(normal(rng, [6, 6], 0.5));
      const c = constant(normal(rng, [4, 6]));
      return (p) => {
        const u = tf.matMul(p.x!, m);
        const v = tf.sub(tf.mul(u, p.y!), tf.div(tf.neg(p.y!), tf.add(tf.square(u), 1)));
        return tf.sum(tf.mul(c, tf.tanh(tf.add(v, p.y!))));
      };
    },
  ),
  'add n': caseBuilder('add n', [X, { name: 'y', shape: [4, 6] }], (rng, constant) => {
    const m = constant(normal(rng, [6, 6], 0.5));
    const c = constant(normal(rng, [4, 6]));
    return (p) => {
      const u = tf.matMul(p.x!, m);
      return tf.sum(tf.mul(c, tf.tanh(tf.addN([u, tf.mul(u, p.y!), p.y!]))));
    };
  }),
  // a = x M and b = x N feed both a sum and a later-used tanh: the Add passes one gradient
  // tensor to both inputs, and the tanh's contribution to a arrives before b's producer is
  // visited. A reverse pass that disposed the shared tensor on that arrival would lose b's.
  'add with a shared gradient': caseBuilder('add with a shared gradient', [X], (rng, constant) => {
    const m = constant(normal(rng, [6, 6], 0.5));
    const n = constant(normal(rng, [6, 6], 0.5));
    const c = constant(normal(rng, [4, 6]));
    return (p) => {
      const a = tf.matMul(p.x!, m);
      const b = tf.matMul(p.x!, n);
      const t = tf.tanh(a);
      const z = tf.add(a, b);
      return tf.add(tf.sum(tf.mul(c, tf.square(z))), tf.sum(tf.mul(c, t)));
    };
  }),
  'squared difference': caseBuilder(
    'squared difference',
    [X, { name: 'y', shape: [4, 6] }],
    (rng, constant) => {
      const m = constant(normal(rng, [6, 6], 0.5));
      const c = constant(normal(rng, [4, 6]));
      return (p) => tf.sum(tf.mul(c, tf.tanh(tf.squaredDifference(tf.matMul(p.x!, m), p.y!))));
    },
  ),
  'batched matmul': caseBuilder(
    'batched matmul',
    [
      { name: 'a', shape: [3, 4, 5] },
      { name: 'b', shape: [3, 5, 2] },
    ],
    (rng, constant) => {
      const c = constant(normal(rng, [3, 4, 2]));
      return (p) => tf.sum(tf.mul(c, tf.tanh(tf.matMul(p.a!, p.b!))));
    },
  ),
  'batched matmul, transposed': caseBuilder(
    'batched matmul, transposed',
    [
      { name: 'a', shape: [3, 5, 4] },
      { name: 'b', shape: [3, 2, 5] },
    ],
    (rng, constant) => {
      const c = constant(normal(rng, [3, 4, 2]));
      return (p) => tf.sum(tf.mul(c, tf.tanh(tf.matMul(p.a!, p.b!, true, true))));
    },
  ),
  'batched matmul, broadcast batch': caseBuilder(
    'batched matmul, broadcast batch',
    [
      { name: 'p', shape: [4, 4] },
      { name: 'z', shape: [3, 4, 5] },
    ],
    (rng, constant) => {
      const c = constant(normal(rng, [3, 4, 5]));
      return (p) => tf.sum(tf.mul(c, tf.tanh(tf.matMul(p.p!, p.z!))));
    },
  ),
  'layer norm (with gain and bias)': caseBuilder(
    'layer norm (with gain and bias)',
    [X, { name: 'gamma', shape: [6] }, { name: 'beta', shape: [6] }],
    (rng, constant) => {
      const c = constant(normal(rng, [4, 6]));
      return (p) => tf.sum(tf.mul(c, tf.tanh(layerNorm(p.x!, p.gamma, p.beta))));
    },
  ),
  'embedding lookup': caseBuilder(
    'embedding lookup',
    [{ name: 'table', shape: [10, 5] }],
    (rng, constant) => {
      const ids = constant(
        tf.tensor2d(
          [
            [1, 3, 3, 7],
            [0, 9, 1, 1],
            [4, 4, 4, 2],
          ],
          [3, 4],
          'int32',
        ),
      );
      const w = constant(normal(rng, [5, 5], 0.5));
      const c = constant(normal(rng, [12, 5]));
      return (p) =>
        tf.sum(tf.mul(c, tf.tanh(tf.matMul(tf.reshape(embedding(p.table!, ids), [12, 5]), w))));
    },
  ),
  'cross-entropy (class labels)': caseBuilder(
    'cross-entropy (class labels)',
    [X, { name: 'w', shape: [6, 5] }],
    (_rng, constant) => {
      const labels = constant(tf.tensor1d([0, 4, 2, 2], 'int32'));
      return (p) => softmaxCrossEntropy(tf.matMul(p.x!, p.w!), labels);
    },
  ),
  'cross-entropy (probabilities)': caseBuilder(
    'cross-entropy (probabilities)',
    [{ name: 'x', shape: [2, 3, 5] }],
    (rng, constant) => {
      const labels = constant(tf.softmax(normal(rng, [2, 3, 5])));
      return (p) => softmaxCrossEntropy(p.x!, labels);
    },
  ),
  'mean squared error': caseBuilder('mean squared error', [X], (rng, constant) => {
    const m = constant(normal(rng, [6, 6], 0.5));
    const target = constant(normal(rng, [4, 6]));
    return (p) => meanSquaredError(tf.tanh(tf.matMul(p.x!, m)), target);
  }),
  'sum, mean over axes': caseBuilder(
    'sum, mean over axes',
    [{ name: 'x', shape: [3, 4, 5] }],
    (rng, constant) => {
      const c = constant(normal(rng, [4]));
      return (p) =>
        tf.sum(
          tf.mul(
            c,
            tf.tanh(tf.add(tf.mul(0.1, tf.sum(tf.square(p.x!), [0, 2])), tf.mean(p.x!, [0, 2]))),
          ),
        );
    },
  ),
  'reshape, transpose, slice, concat, pad': caseBuilder(
    'reshape, transpose, slice, concat, pad',
    [X],
    (rng, constant) => {
      const c = constant(normal(rng, [6, 4]));
      return (p) => {
        const top = tf.slice(p.x!, [0, 0], [2, 6]);
        const bottom = tf.reshape(tf.transpose(tf.slice(p.x!, [2, 0], [2, 6])), [2, 6]);
        const joined = tf.concat([top, tf.mul(bottom, top)], 0); // [4, 6]
        const padded = tf.pad(tf.transpose(joined), [
          [0, 0],
          [0, 0],
        ]); // [6, 4]
        return tf.sum(
          tf.mul(
            c,
            tf.tanh(
              tf.pad(tf.slice(padded, [1, 0], [5, 4]), [
                [1, 0],
                [0, 0],
              ]),
            ),
          ),
        );
      };
    },
  ),
  'stack, unstack, split, tile, gather, broadcast': caseBuilder(
    'stack, unstack, split, tile, gather, broadcast',
    [X],
    (rng, constant) => {
      const c = constant(normal(rng, [2, 4, 6]));
      const idx = constant(tf.tensor1d([5, 0, 2, 2, 1, 3], 'int32'));
      return (p) => {
        const rows = tf.unstack(p.x!, 0);
        const [left, right] = tf.split(p.x!, 2, 1);
        // Copy before reversing: the tape holds the very array unstack returned (see README).
        const stacked = tf.stack([tf.concat([right!, left!], 1), tf.stack([...rows].reverse())]); // [2, 4, 6]
        const tiled = tf.mul(
          tf.tile(tf.expandDims(tf.sum(p.x!, 0), 0), [4, 1]),
          tf.fill([4, 6], 1.5),
        ); // [4, 6]
        const gathered = tf.gather(p.x!, idx, 1); // [4, 6]
        const broad = tf.broadcastTo(tf.squeeze(tf.slice(p.x!, [0, 0], [1, 6])), [2, 4, 6]);
        return tf.sum(tf.mul(c, tf.tanh(tf.add(tf.mul(stacked, tf.mul(tiled, gathered)), broad))));
      };
    },
  ),
  'causal softmax attention': caseBuilder(
    'causal softmax attention',
    [
      { name: 'q', shape: [2, 4, 3] },
      { name: 'k', shape: [2, 4, 3] },
      { name: 'v', shape: [2, 4, 3] },
    ],
    (rng, constant) => {
      const mask = constant(tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([4, 4]), -1, 0)), -1e9));
      const c = constant(normal(rng, [2, 4, 3]));
      return (p) => {
        const scores = tf.add(tf.div(tf.matMul(p.q!, p.k!, false, true), Math.sqrt(3)), mask);
        return tf.sum(tf.mul(c, tf.matMul(softmax(scores), p.v!)));
      };
    },
  ),
};
