import type { Registry } from '@tdx/core';
import { cnn } from './cnn.js';
import { gpt } from './gpt.js';
import { linearTransformer } from './linear-transformer.js';
import { mlp } from './mlp.js';
import { quadraticForm } from './quadratic-form.js';
import { vit } from './vit.js';

/** Registers the built-in models. */
export function register(registry: Registry): Registry {
  return registry.register(linearTransformer, gpt, vit, mlp, cnn, quadraticForm);
}
