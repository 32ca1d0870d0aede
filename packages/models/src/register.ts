import type { Registry } from '@tdx/core';
import { cnn } from './cnn.js';
import { gaussianKernelPlugin } from './kernels/gaussian-kernel.js';
import { linearKernelPlugin } from './kernels/linear-kernel.js';
import { softmaxKernelPlugin } from './kernels/softmax-kernel.js';
import { gpt } from './gpt.js';
import { linearTransformer } from './linear-transformer.js';
import { mlp } from './mlp.js';
import { oneLayerAttention } from './one-layer-attention.js';
import { quadraticForm } from './quadratic-form.js';
import { textTransformer } from './text-transformer.js';
import { vit } from './vit.js';

/** Registers the built-in models and attention kernels. */
export function register(registry: Registry): Registry {
  return registry.register(
    softmaxKernelPlugin,
    gaussianKernelPlugin,
    linearKernelPlugin,
    linearTransformer,
    gpt,
    vit,
    textTransformer,
    oneLayerAttention,
    mlp,
    cnn,
    quadraticForm,
  );
}
