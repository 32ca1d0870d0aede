import { gelu, tf, type Tensor } from '@tdx/tensor';

export type Activation = 'relu' | 'tanh' | 'gelu';

export function activate(x: Tensor, activation: Activation): Tensor {
  return activation === 'relu' ? tf.relu(x) : activation === 'tanh' ? tf.tanh(x) : gelu(x);
}
