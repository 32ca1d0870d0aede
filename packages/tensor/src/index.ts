export { tf, type Tensor, type Scalar } from './tf.js';
export * from './param-set.js';
export * from './param-selector-config.js';
export * from './rng.js';
export * from './contracts.js';
export * from './mean-field-model.js';
export * from './tree.js';
export * from './autodiff/gradients.js';
export * from './autodiff/ops.js';
export { fdDirectionalDerivative, fdHessianVectorProduct } from './autodiff/finite-differences.js';
export {
  axpy,
  dot,
  norm,
  normalized,
  powerIteration,
  relativeError,
  scaled,
  type PowerIterationOptions,
  type PowerIterationResult,
} from './linalg/host.js';

export { REPLACED_GRADIENT_KERNELS, withStockGradient } from './autodiff/exact-gradients.js';
export {
  AUDITED_KERNELS,
  BACKEND_INTERNAL_KERNELS,
  isAuditedKernel,
} from './autodiff/audited-kernels.js';
export { unsortedSegmentSumOnHost } from './backends/wasm-kernels.js';
export { type BackendName } from './backends/activate.js';
export { useBackend } from './backends/use-backend.js';
export { autoBackend, wasmBackend, cpuBackend, tensorflowBackend } from './backends/plugins.js';
export {
  nativeBackendStatus,
  NATIVE_PACKAGES,
  type NativeDevice,
  type NativeStatus,
} from './backends/native.js';
export { nativeThreads } from './backends/activate.js';
export { exactnessBackends } from './backends/test-backends.js';
export {
  minibatchTrainer,
  startMinibatchSession,
  type MinibatchSession,
  type MinibatchTrainerConfig,
} from './trainer/minibatch-trainer.js';
export { register } from './register.js';
