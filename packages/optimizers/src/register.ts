import type { Registry } from '@tdx/core';
import { adamPlugin } from './adam.js';
import { blockwiseGdPlugin } from './blockwise-gd.js';
import { clipByBlockNormPlugin } from './clip-by-block-norm.js';
import { gradientFlowPlugin } from './gradient-flow.js';
import { sgdPlugin } from './sgd.js';

/** Registers the built-in optimizers. */
export function register(registry: Registry): Registry {
  return registry.register(
    sgdPlugin,
    adamPlugin,
    blockwiseGdPlugin,
    gradientFlowPlugin,
    clipByBlockNormPlugin,
  );
}
