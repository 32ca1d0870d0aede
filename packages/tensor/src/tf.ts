/**
 * The one place tdx imports TensorFlow.js. Everything else takes `tf` from here, so the
 * gradient registrations below are always in effect before the first gradient.
 *
 * tfjs-core alone registers no gradients, and its `register_all_gradients` module cannot be
 * imported by Node (extensionless ESM imports; still so on Node 20.20). The union package
 * `@tensorflow/tfjs` registers them, but brings webgl, layers, converter and data (230 MB
 * installed) and a second bundled copy of tfjs-core's code. So tdx ships TF.js's gradients as
 * one generated module over the public tfjs-core entry (./generated/tfjs-gradients.ts, made by
 * scripts/bundle-tfjs-gradients.mjs): the same gradients and chained ops, registered on the one
 * tfjs-core.
 */
import * as tf from '@tensorflow/tfjs-core';
import './generated/tfjs-gradients.js';
// The pure-JS backend registered on import (as the union package did), so tensors made before
// useBackend() work; useBackend picks the backend a run uses.
import '@tensorflow/tfjs-backend-cpu';
// The chained ops (`x.reshape(...)`) that module registers, for the type checker.
export type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
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
