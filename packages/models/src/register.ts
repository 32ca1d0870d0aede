import type { Registry } from '@tdx/core';
import { bert } from './bert.js';
import { cnn } from './cnn.js';
import { gaussianKernelPlugin } from './kernels/gaussian-kernel.js';
import { linearKernelPlugin } from './kernels/linear-kernel.js';
import { softmaxKernelPlugin } from './kernels/softmax-kernel.js';
import { linearTransformer } from './linear-transformer.js';
import { oneLayerAttention } from './one-layer-attention.js';
import { quadraticForm } from './quadratic-form.js';
import { resnet } from './resnet.js';
import { sizedGpt, sizedMlp, sizedVit } from './sized-models.js';
import { textTransformer } from './text-transformer.js';
import { vgg } from './vgg.js';

/** Registers the built-in models and attention kernels. */
export function register(registry: Registry): Registry {
  return registry.register(
    softmaxKernelPlugin,
    gaussianKernelPlugin,
    linearKernelPlugin,
    linearTransformer,
    // gpt, vit and mlp with their size presets (sized-models.ts).
    sizedGpt,
    sizedVit,
    textTransformer,
    oneLayerAttention,
    sizedMlp,
    cnn,
    quadraticForm,
    resnet,
    vgg,
    bert,
  );
}
