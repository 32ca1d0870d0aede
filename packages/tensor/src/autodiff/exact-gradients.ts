/**
 * Gradient registrations that make TF.js second-order autodiff exact.
 *
 * Why: when a kernel runs under a tape, the engine saves tensors for backward as clones.
 * A saved *output* is cloned before the kernel's own tape node is recorded, so the tape
 * filter prunes the clone and an outer differentiation treats the output as a constant:
 * grad-of-grad silently loses a term (Tanh, Sigmoid, Exp, Softmax, LogSoftmax, Elu, Pow's
 * exponent) or throws (Max, Min). Re-registering those gradients from saved *inputs*,
 * recomputing the output inside the gradient, restores the missing term.
 *
 * Also fixed here:
 * - comparison and logical kernels have no gradient, so grad-of-grad throws when a mask
 *   (Max, Maximum, ClipByValue, Relu6, LeakyRelu) is differentiated; their derivative is
 *   zero almost everywhere, which is what we register;
 * - BatchMatMul's gradient does not sum over broadcast batch axes, so `matMul(P, Z)` with
 *   P [m, k] and Z [b, k, n] fails under tf.grad; the gradient is reduced to each input's shape.
 *
 * Every kernel in AUDITED_KERNELS has a Hessian-vector product test against finite
 * differences on every backend (packages/tensor/test/hvp-ops.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { unbroadcast } from './broadcast.js';

type SingleOutputGradient = (
  dy: Tensor,
  saved: Tensor[],
  attrs: NamedAttrMap,
) => Record<string, () => Tensor>;

/** A gradient config for a kernel with one output (all the kernels below). */
function gradient(
  kernelName: string,
  inputsToSave: string[],
  gradFunc: SingleOutputGradient,
): GradConfig {
  return {
    kernelName,
    inputsToSave,
    gradFunc: (dy, saved, attrs) => gradFunc(dy as Tensor, saved, attrs),
  };
}

const float = (x: Tensor): Tensor => (x.dtype === 'float32' ? x : tf.cast(x, 'float32'));

/**
 * x·y with either side transposed. On wasm, for 2-D operands, the transpose is made explicit:
 * that backend's 2-D matMul with a transposed operand is 8–10× slower than transposing first
 * (measured on [2048, 64] × [64, 256]: 27 ms against 2.7 ms), and every dense layer's backward
 * pass takes two such products (the gpt-hvp benchmark: 400 → 190 ms). Batched products keep
 * the flags (no difference there), and so does the cpu backend (the copy only costs it time).
 */
function product(x: Tensor, y: Tensor, transposeX: boolean, transposeY: boolean): Tensor {
  if (x.rank !== 2 || y.rank !== 2 || tf.getBackend() !== 'wasm')
    return tf.matMul(x, y, transposeX, transposeY);
  return tf.matMul(transposeX ? tf.transpose(x) : x, transposeY ? tf.transpose(y) : y);
}

function minMaxGrad(
  reduce: (x: Tensor, axes: number[]) => Tensor,
  axisAttr: string,
): SingleOutputGradient {
  return (dy, saved, attrs) => {
    const [x] = saved as [Tensor];
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    return {
      x: () => {
        const y = reduce(x, axes);
        const dyKept =
          dy.rank < x.rank
            ? tf.reshape(dy, tf.backend_util.expandShapeToKeepDim(dy.shape, axes))
            : dy;
        // Ties share the full gradient, as in TF.js's own gradient.
        return tf.mul(dyKept, tf.cast(tf.equal(x, y), 'float32'));
      },
    };
  };
}

function zeroGradient(kernelName: string, inputs: string[]): GradConfig {
  return gradient(kernelName, inputs, (_dy, saved) =>
    Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i]!.shape, 'float32')])),
  );
}

const EXACT_GRADIENTS: GradConfig[] = [
  gradient('Tanh', ['x'], (dy, [x]) => ({
    x: () => tf.mul(dy, tf.sub(1, tf.square(tf.tanh(x!)))),
  })),
  gradient('Sigmoid', ['x'], (dy, [x]) => ({
    x: () => {
      const y = tf.sigmoid(x!);
      return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
    },
  })),
  gradient('Exp', ['x'], (dy, [x]) => ({ x: () => tf.mul(dy, tf.exp(x!)) })),
  gradient('Softmax', ['logits'], (dy, [logits], attrs) => ({
    logits: () => {
      const dim = attrs.dim as number;
      const y = tf.softmax(logits!, dim);
      const dyy = tf.mul(dy, y);
      return tf.sub(dyy, tf.mul(tf.sum(dyy, [dim], true), y));
    },
  })),
  gradient('LogSoftmax', ['logits'], (dy, [logits], attrs) => ({
    logits: () => {
      const axis = attrs.axis as number;
      return tf.sub(dy, tf.mul(tf.sum(dy, axis, true), tf.softmax(logits!, axis)));
    },
  })),
  // elu'(x) = 1 for x > 0, exp(x) otherwise; TF.js's EluGrad kernel has no gradient.
  gradient('Elu', ['x'], (dy, [x]) => ({
    x: () => tf.mul(dy, tf.where(tf.greater(x!, 0), tf.onesLike(x!), tf.exp(x!))),
  })),
  gradient('Pow', ['a', 'b'], (dy, [a, b]) => {
    const base = a!;
    const exponent = b!;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(base.shape, exponent.shape);
    return {
      a: () => {
        const e = float(exponent);
        return unbroadcast(tf.mul(dy, tf.mul(e, tf.pow(base, tf.sub(e, 1)))), base.shape);
      },
      b: () => {
        // d/db a^b = a^b log(a), taken as 0 where a <= 0 (as TF.js does).
        const y = tf.pow(base, exponent);
        const logBase = tf.where(tf.greater(base, 0), tf.log(base), tf.zerosLike(base));
        const g = tf.mul(dy, tf.mul(y, logBase));
        return unbroadcast(tf.broadcastTo(g, outShape), exponent.shape);
      },
    };
  }),
  gradient(
    'Max',
    ['x'],
    minMaxGrad((x, axes) => tf.max(x, axes, true), 'reductionIndices'),
  ),
  gradient(
    'Min',
    ['x'],
    minMaxGrad((x, axes) => tf.min(x, axes, true), 'axis'),
  ),
  gradient('BatchMatMul', ['a', 'b'], (dy, [a, b], attrs) => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    const A = a!;
    const B = b!;
    let da: () => Tensor;
    let db: () => Tensor;
    if (!transposeA && !transposeB) {
      da = () => product(dy, B, false, true);
      db = () => product(A, dy, true, false);
    } else if (!transposeA && transposeB) {
      da = () => product(dy, B, false, false);
      db = () => product(dy, A, true, false);
    } else if (transposeA && !transposeB) {
      da = () => product(B, dy, false, true);
      db = () => product(A, dy, false, false);
    } else {
      da = () => product(B, dy, true, true);
      db = () => product(dy, A, true, true);
    }
    return { a: () => unbroadcast(da(), A.shape), b: () => unbroadcast(db(), B.shape) };
  }),
  zeroGradient('Equal', ['a', 'b']),
  zeroGradient('NotEqual', ['a', 'b']),
  zeroGradient('Greater', ['a', 'b']),
  zeroGradient('Less', ['a', 'b']),
  zeroGradient('LessEqual', ['a', 'b']),
  zeroGradient('LogicalAnd', ['a', 'b']),
  zeroGradient('LogicalOr', ['a', 'b']),
  zeroGradient('LogicalNot', ['x']),
];

/** Kernels whose stock gradients are replaced, kept so tests can show what they got wrong. */
const stockGradients = new Map<string, GradConfig | undefined>();
let installed = false;

/**
 * Registers the exact gradients. Idempotent; `again` registers them once more, for after a
 * package that registers TF.js's own gradients (a second copy of the union bundle) was loaded.
 */
export function installExactGradients(again = false): void {
  if (installed && !again) return;
  for (const config of EXACT_GRADIENTS) {
    if (!installed) stockGradients.set(config.kernelName, tf.getGradient(config.kernelName));
    tf.registerGradient(config);
  }
  installed = true;
}

/**
 * Runs `fn` with TF.js's own gradient for `kernelName` instead of tdx's, then restores
 * tdx's. Only for tests that demonstrate the stock gradient's error.
 */
export function withStockGradient<T>(kernelName: string, fn: () => T): T {
  const stock = stockGradients.get(kernelName);
  const exact = EXACT_GRADIENTS.find((c) => c.kernelName === kernelName);
  if (!stock || !exact) throw new Error(`no stock gradient recorded for ${kernelName}`);
  tf.registerGradient(stock);
  try {
    return fn();
  } finally {
    tf.registerGradient(exact);
  }
}

/** Kernel names whose gradients tdx replaced. */
export const REPLACED_GRADIENT_KERNELS: readonly string[] = EXACT_GRADIENTS.map(
  (c) => c.kernelName,
);
