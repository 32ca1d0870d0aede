/** The backend plugins: `wasm` (default), `cpu`, and `tensorflow` when installed. */
import { definePlugin, z, type BackendInstance } from '@tdx/core';
import { activateCpu, activateTensorflow, activateWasm } from './activate.js';

export const wasmBackend = definePlugin({
  kind: 'backend',
  name: 'wasm',
  description: 'WebAssembly with XNNPACK and SIMD, one thread in Node (the default)',
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
    'native libtensorflow through @tensorflow/tfjs-node(-gpu), when the user has installed it',
  config: z.object({
    /** auto: the GPU package if installed, else the CPU one. */
    device: z.enum(['auto', 'gpu', 'cpu']).default('auto'),
  }),
  create: (config): BackendInstance => ({ activate: () => activateTensorflow(config.device) }),
});
