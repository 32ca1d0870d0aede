/**
 * The one place tdx imports TensorFlow.js. Everything else takes `tf` from here, so the
 * gradient registrations below are always in effect before the first gradient.
 *
 * tfjs-core alone registers no gradients, and its `register_all_gradients` module cannot be
 * imported by Node (extensionless ESM imports), so the union package provides them; it uses
 * the same single copy of tfjs-core (every @tensorflow package is pinned to 4.22.0).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { installExactGradients } from './autodiff/exact-gradients.js';
import { installLeanGradients } from './autodiff/lean-gradients.js';
import { installSharedSaves } from './autodiff/shared-saves.js';
import { installWasmKernels } from './backends/wasm-kernels.js';

installExactGradients();
installLeanGradients();
installSharedSaves();
installWasmKernels();

/**
 * Registers tdx's gradients once more: after loading a package that may have registered TF.js's
 * own (the native backend's package brings the union bundle), so tdx's exact ones win.
 */
export function reinstallTdxGradients(): void {
  installExactGradients(true);
  installLeanGradients(true);
}

export { tf };
export type Tensor = tf.Tensor;
export type Scalar = tf.Scalar;
