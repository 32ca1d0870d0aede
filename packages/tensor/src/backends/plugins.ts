/** The backend plugins: `auto` (default), `wasm`, `cpu`, and `tensorflow` when installed. */
import { definePlugin, z, type BackendInstance } from '@tdx/core';
import { activateAuto, activateCpu, activateTensorflow, activateWasm } from './activate.js';
import { nativeBackendStatus } from './native.js';

export const autoBackend = definePlugin({
  kind: 'backend',
  name: 'auto',
  description:
    'tensorflow when `tdx setup tensorflow` has installed it here, else wasm (the default); run.json records which ran',
  config: z.object({}),
  create: (): BackendInstance => ({ activate: activateAuto }),
});

export const wasmBackend = definePlugin({
  kind: 'backend',
  name: 'wasm',
  description: 'WebAssembly with XNNPACK and SIMD, one thread in Node; always available',
  config: z.object({}),
  create: (): BackendInstance => ({ activate: activateWasm }),
});

export const cpuBackend = definePlugin({
  kind: 'backend',
  name: 'cpu',
  description: 'pure JavaScript; slow, always available, the reference for correctness',
  config: z.object({}),
  create: (): BackendInstance => ({ activate: activateCpu }),
});

export const tensorflowBackend = definePlugin({
  kind: 'backend',
  name: 'tensorflow',
  description:
    'native TensorFlow through @tensorflow/tfjs-node(-gpu), installed by `tdx setup tensorflow`',
  config: z.object({
    /** auto: the GPU package if installed, else the CPU one. */
    device: z.enum(['auto', 'gpu', 'cpu']).default('auto'),
    /** TensorFlow's intra-op threads (default: the cores tdx leaves to this process). */
    threads: z.number().int().positive().optional(),
  }),
  create: (config): BackendInstance => ({
    activate: () => activateTensorflow(config.device, config.threads),
    unavailable: () => {
      const status = nativeBackendStatus(config.device);
      return status.ready ? undefined : status.reason;
    },
  }),
});
