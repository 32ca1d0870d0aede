import type { Registry } from '@tdx/core';
import { autoBackend, cpuBackend, tensorflowBackend, wasmBackend } from './backends/plugins.js';
import { minibatchTrainer } from './trainer/minibatch-trainer.js';

/** Registers the backends (wasm, cpu, tensorflow) and the minibatch trainer. */
export function register(registry: Registry): Registry {
  return registry.register(
    autoBackend,
    wasmBackend,
    cpuBackend,
    tensorflowBackend,
    minibatchTrainer,
  );
}
