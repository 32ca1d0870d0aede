/**
 * Kernels the wasm backend lacks and tdx needs. UnsortedSegmentSum is what the gradient
 * of gather (embedding lookup) calls; without it, backprop through an embedding throws
 * on wasm (tfjs#8082). This one runs on the host: O(n), exact, float32 like the rest.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo, TypedArray } from '@tensorflow/tfjs-core';

interface HostBackend {
  readSync(dataId: object): TypedArray;
  makeOutput(
    shape: number[],
    dtype: string,
    memoryOffset?: number,
    values?: TypedArray,
  ): TensorInfo;
}

export function unsortedSegmentSumOnHost(
  x: TypedArray,
  xShape: number[],
  segmentIds: TypedArray,
  idsShape: number[],
  numSegments: number,
): { values: Float32Array; shape: number[] } {
  const segments = tf.util.sizeFromShape(idsShape);
  const innerShape = xShape.slice(idsShape.length);
  const inner = tf.util.sizeFromShape(innerShape);
  const out = new Float32Array(numSegments * inner);
  for (let i = 0; i < segments; i++) {
    const s = segmentIds[i]!;
    if (s < 0 || s >= numSegments) continue; // TF drops out-of-range ids
    const from = i * inner;
    const to = s * inner;
    for (let j = 0; j < inner; j++) out[to + j]! += x[from + j]!;
  }
  return { values: out, shape: [numSegments, ...innerShape] };
}

const unsortedSegmentSumWasm: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const host = backend as unknown as HostBackend;
    const { values, shape } = unsortedSegmentSumOnHost(
      host.readSync(x.dataId),
      x.shape,
      host.readSync(segmentIds.dataId),
      segmentIds.shape,
      (attrs as { numSegments: number }).numSegments,
    );
    return host.makeOutput(shape, 'float32', undefined, values);
  },
};

let installed = false;

/** Registers the missing wasm kernels (idempotent; harmless when wasm is never used). */
export function installWasmKernels(): void {
  if (installed) return;
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) tf.registerKernel(unsortedSegmentSumWasm);
  installed = true;
}
