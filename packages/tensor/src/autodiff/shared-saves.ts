/**
 * Tensors saved for backward share their producer's buffer instead of being copied.
 *
 * Why: while a tape records, TF.js saves each kernel's inputs for its gradient through
 * `engine.clone`, which runs an Identity kernel (a full copy on wasm) and records a tape node
 * whose gradient runs a Cast kernel. In an exact Hessian-vector product that is a third of
 * all kernels (936 Identity and 321 Cast of 3,265 in one gpt-hvp) for no arithmetic.
 *
 * The replacement makes the saved tensor a second handle on the same buffer (the backend's
 * reference count keeps the data alive until the tape is disposed, exactly as the cpu and
 * tensorflow backends' own Identity kernels do) and records the same tape node, saved →
 * input, so an outer differentiation still sees that the saved tensor depends on the input:
 * second derivatives stay exact. Its gradient passes dy through unchanged (the derivative of
 * an identity), which needs no kernel; the tape's accumulation never disposes a gradient
 * that a later node still reads (a node's output gradient is final once the node is
 * processed, because the tape is walked from the end).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';

interface KernelBackendWithRefs {
  incRef(dataId: object): void;
}

/** The parts of TF.js's Engine this module uses (not in its public types). */
interface EngineInternals {
  clone(x: Tensor): Tensor;
  state: {
    activeScope: { name: string } | null;
    tensorInfo: { get(dataId: object): { backend: KernelBackendWithRefs } | undefined };
  };
  makeTensorFromTensorInfo(info: TensorInfo, backend?: unknown): Tensor;
  addTapeNode(
    kernelName: string,
    inputs: Record<string, Tensor>,
    outputs: Tensor[],
    gradient: (dy: Tensor) => Record<string, () => Tensor>,
    saved: Tensor[],
    attrs: Record<string, unknown>,
  ): void;
}

/** Never a registered gradient's kernel name, so addTapeNode keeps our gradient function. */
const SAVED_TENSOR_NODE = 'tdx.savedTensor';

let stockClone: ((x: Tensor) => Tensor) | undefined;

function engineInternals(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

/**
 * A second tensor on x's buffer, with no tape node: autodiff sees a new constant. No kernel
 * runs; the backend's reference count keeps the buffer until both tensors are disposed.
 */
export function sharedHandle<T extends Tensor>(x: T): T {
  const engine = engineInternals();
  const info = engine.state.tensorInfo.get(x.dataId);
  if (!info) throw new Error('sharedHandle: the tensor is not known to the engine (disposed?)');
  info.backend.incRef(x.dataId);
  return engine.makeTensorFromTensorInfo(
    { dataId: x.dataId, shape: x.shape, dtype: x.dtype },
    info.backend,
  ) as T;
}

/** Installs the shared-buffer saves (idempotent). */
export function installSharedSaves(): void {
  const engine = engineInternals();
  if (stockClone) return;
  stockClone = engine.clone.bind(engine);
  engine.clone = function sharedClone(x: Tensor): Tensor {
    // Strings and tensors the engine does not know (should not happen) take the stock path.
    if (x.dtype === 'string' || !engine.state.tensorInfo.get(x.dataId)) return stockClone!(x);
    const y = sharedHandle(x);
    engine.addTapeNode(SAVED_TENSOR_NODE, { x }, [y], (dy) => ({ x: () => dy }), [], {});
    return y;
  };
}

/** Runs `fn` with TF.js's own copying saves (for tests that compare the two). */
export function withCopyingSaves<T>(fn: () => T): T {
  const engine = engineInternals();
  if (!stockClone) return fn();
  const shared = engine.clone;
  engine.clone = stockClone;
  try {
    return fn();
  } finally {
    engine.clone = shared;
  }
}
