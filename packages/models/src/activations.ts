import { z } from '@tdx/core';
import { gelu, tf, type Tensor } from '@tdx/tensor';

/** The activations a model config may name: all audited for exact Hessian-vector products. */
export const activationConfig = z.enum(['relu', 'tanh', 'gelu']);

export type Activation = z.output<typeof activationConfig>;

export function activate(x: Tensor, activation: Activation): Tensor {
  return activation === 'relu' ? tf.relu(x) : activation === 'tanh' ? tf.tanh(x) : gelu(x);
}
