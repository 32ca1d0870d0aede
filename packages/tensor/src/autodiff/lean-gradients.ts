/**
 * Gradients of the most frequent kernels, written to launch as few kernels as possible.
 *
 * Why: TF.js's own gradients for these kernels are exact, but they cast float32 tensors to
 * float32 (a Cast kernel each time), reshape gradients to the shape they already have, and
 * broadcast by multiplying with a tensor of ones. In an exact Hessian-vector product every such
 * kernel runs again under the outer differentiation, and on the native backend each kernel
 * costs tens of microseconds whatever its size: in one gpt-hvp those no-op kernels were about
 * a third of the rest. These registrations compute the same values with the kernels that
 * carry arithmetic only. Their gradients (what an outer differentiation runs) are the
 * registered gradients of the kernels they launch, so second derivatives stay exact; every
 * kernel here is in AUDITED_KERNELS and has a Hessian-vector product test against finite
 * differences, and test/lean-gradients.test.ts checks them against TF.js's own gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { spreadOverAxes, unbroadcast } from './broadcast.js';

type Gradient = (dy: Tensor, saved: Tensor[], attrs: NamedAttrMap) => Record<string, () => Tensor>;

function gradient(kernelName: string, inputsToSave: string[], gradFunc: Gradient): GradConfig {
  return {
    kernelName,
    inputsToSave,
    gradFunc: (dy, saved, attrs) => gradFunc(dy as Tensor, saved, attrs),
  };
}

/** Float32 as is (no kernel); other dtypes cast, as TF.js's own gradients do. */
const float = (x: Tensor): Tensor => (x.dtype === 'float32' ? x : tf.cast(x, 'float32'));

function reducedAxes(attrs: NamedAttrMap, name: string, shape: number[]): number[] {
  return tf.util.parseAxisParam(attrs[name] as number | number[], shape);
}

/** The sums that undo Tile: one keepDims sum when each axis is either tiled or of size 1. */
function untile(dy: Tensor, shape: number[], reps: number[]): Tensor {
  const tiled = reps.map((r, i) => (r > 1 ? i : -1)).filter((i) => i >= 0);
  if (tiled.length === 0) return dy;
  if (tiled.every((i) => shape[i] === 1)) return tf.sum(dy, tiled, true);
  // Axis i of dy runs over reps[i] copies of shape[i] entries: split it into [reps, size].
  const split = shape.flatMap((s, i) => [reps[i]!, s]);
  return tf.sum(
    tf.reshape(dy, split),
    shape.map((_, i) => 2 * i),
  );
}

export const LEAN_GRADIENTS: GradConfig[] = [
  gradient('Add', ['a', 'b'], (dy, [a, b]) => ({
    a: () => unbroadcast(dy, a!.shape),
    b: () => unbroadcast(dy, b!.shape),
  })),
  gradient('Sub', ['a', 'b'], (dy, [a, b]) => ({
    a: () => unbroadcast(dy, a!.shape),
    b: () => tf.neg(unbroadcast(dy, b!.shape)),
  })),
  gradient('Multiply', ['a', 'b'], (dy, [a, b]) => ({
    a: () => unbroadcast(tf.mul(dy, float(b!)), a!.shape),
    b: () => unbroadcast(tf.mul(dy, float(a!)), b!.shape),
  })),
  gradient('RealDiv', ['a', 'b'], (dy, [a, b]) => ({
    a: () => unbroadcast(tf.div(dy, float(b!)), a!.shape),
    // d(a/b)/db = -a/b², summed to b's shape first (b is constant along the broadcast axes).
    b: () => tf.neg(tf.div(unbroadcast(tf.mul(dy, float(a!)), b!.shape), tf.square(float(b!)))),
  })),
  gradient('Sum', ['x'], (dy, [x], attrs) => ({
    x: () => spreadOverAxes(dy, x!.shape, reducedAxes(attrs, 'axis', x!.shape)),
  })),
  gradient('Mean', ['x'], (dy, [x], attrs) => ({
    x: () => {
      const axes = reducedAxes(attrs, 'axis', x!.shape);
      const count = axes.reduce((n, axis) => n * x!.shape[axis]!, 1);
      return spreadOverAxes(tf.mul(dy, 1 / count), x!.shape, axes);
    },
  })),
  gradient('Tile', ['x'], (dy, [x], attrs) => ({
    x: () => untile(dy, x!.shape, attrs.reps as number[]),
  })),
  gradient('Square', ['x'], (dy, [x]) => ({ x: () => tf.mul(dy, tf.mul(float(x!), 2)) })),
  // rsqrt'(x) = -y³/2 = -(y/x)/2 with y = rsqrt(x), recomputed from the saved input.
  gradient('Rsqrt', ['x'], (dy, [x]) => ({
    x: () => tf.mul(dy, tf.mul(tf.div(tf.rsqrt(x!), x!), -0.5)),
  })),
  // erf'(x) = (2/√π) exp(-x²) = exp(ln(2/√π) - x²).
  gradient('Erf', ['x'], (dy, [x]) => ({
    x: () => tf.mul(dy, tf.exp(tf.sub(Math.log(2 / Math.sqrt(Math.PI)), tf.square(x!)))),
  })),
  // Each summand of AddN gets dy itself (TF.js copies it once per summand).
  {
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: (dy, saved) =>
      Object.fromEntries(saved.map((_, i) => [i, () => float(dy as Tensor)])),
  },
  // The derivative of an identity or a cast to float32 is dy itself: no kernel.
  gradient('Identity', [], (dy) => ({ x: () => float(dy) })),
  gradient('Cast', [], (dy) => ({ x: () => float(dy) })),
  // The rows of dy at each segment id, zero where the id is negative (dropped by the sum), as
  // TF.js's own gradient, but with a product by a 0/1 column instead of a logical and and a
  // select over the whole gradient (thirty times slower on wasm).
  gradient('UnsortedSegmentSum', ['segmentIds'], (dy, [ids]) => ({
    x: () => {
      const segmentIds = ids!;
      const zero = tf.scalar(0, segmentIds.dtype);
      const rows = tf.gather(dy, tf.maximum(segmentIds, zero));
      const kept = tf.cast(tf.greaterEqual(segmentIds, zero), 'float32');
      const column = tf.reshape(kept, [
        ...segmentIds.shape,
        ...Array<number>(rows.rank - segmentIds.rank).fill(1),
      ]);
      return tf.mul(rows, column);
    },
  })),
  // Gather along axis 0 (embedding lookups): one segment sum of dy's rows by index.
  gradient('GatherV2', ['x', 'indices'], (dy, [x, indices], attrs) => {
    const axis = reducedAxes(attrs, 'axis', x!.shape)[0]!;
    const batchDims = (attrs.batchDims as number | undefined) ?? 0;
    if (axis !== 0 || batchDims !== 0) return stockGradient('GatherV2')(dy, [x!, indices!], attrs);
    return {
      x: () => {
        const n = indices!.size;
        const inner = x!.shape.slice(1);
        const rows = tf.util.arraysEqual(dy.shape, [n, ...inner])
          ? dy
          : tf.reshape(dy, [n, ...inner]);
        const ids = indices!.rank === 1 ? indices! : tf.reshape(indices!, [n]);
        return tf.unsortedSegmentSum(
          rows,
          (ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32')) as tf.Tensor1D,
          x!.shape[0]!,
        );
      },
      indices: () => indices!,
    };
  }),
];

/** TF.js's own gradients of the kernels above, captured before they were replaced. */
const stock = new Map<string, GradConfig>();

function stockGradient(kernelName: string): Gradient {
  const config = stock.get(kernelName);
  if (!config) throw new Error(`no stock gradient recorded for ${kernelName}`);
  return (dy, saved, attrs) => config.gradFunc(dy, saved, attrs) as Record<string, () => Tensor>;
}

let installed = false;

/** Registers the lean gradients. Idempotent; `again` as for installExactGradients. */
export function installLeanGradients(again = false): void {
  if (installed && !again) return;
  for (const config of LEAN_GRADIENTS) {
    const original = tf.getGradient(config.kernelName);
    if (!installed && original) stock.set(config.kernelName, original);
    tf.registerGradient(config);
  }
  installed = true;
}

/**
 * Runs `fn` with TF.js's own gradients for every kernel above, then restores the lean ones.
 * For tests that compare the two.
 */
export function withStockLeanGradients<T>(fn: () => T): T {
  for (const config of stock.values()) tf.registerGradient(config);
  try {
    return fn();
  } finally {
    for (const config of LEAN_GRADIENTS) tf.registerGradient(config);
  }
}
