/**
 * A random one-hidden-layer ReLU network on the host, x ↦ W_outᵀ relu(W_inᵀ x + b_in) + b_out,
 * the fixed "teacher" of Ahn et al.'s nonlinear data modes (`generate_data_relu`, and the
 * `randomMLP` of nonlinear_regression.ipynb). Biases, and weights unless a standard deviation is
 * given, are drawn as PyTorch's `nn.Linear` draws them (uniform on ±1/√fan_in), since the
 * authors only overwrite the weights (relu mode: N(0, 0.1²)) and keep torch's default biases.
 * Float64 throughout: the labels are rounded to float32 once, when written.
 */
import type { Rng } from '@tdx/tensor';

export interface ReluNet {
  inputs: number;
  hidden: number;
  outputs: number;
  /** [inputs, hidden], row-major. */
  inWeight: Float64Array;
  inBias: Float64Array;
  /** [hidden, outputs], row-major. */
  outWeight: Float64Array;
  outBias: Float64Array;
}

/** Draws a net from `rng`; `weightStd` absent: torch's uniform weights. */
export function drawReluNet(
  rng: Rng,
  inputs: number,
  hidden: number,
  outputs: number,
  weightStd?: number,
): ReluNet {
  const uniform = (size: number, fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    return rng.uniformArray(size, -bound, bound);
  };
  const weights = (size: number, fanIn: number) =>
    weightStd === undefined ? uniform(size, fanIn) : rng.normalArray(size, 0, weightStd);
  const inWeight = weights(inputs * hidden, inputs);
  const inBias = uniform(hidden, inputs);
  const outWeight = weights(hidden * outputs, hidden);
  const outBias = uniform(outputs, hidden);
  return { inputs, hidden, outputs, inWeight, inBias, outWeight, outBias };
}

/** out ← net(x); `scratch` holds the hidden layer (length net.hidden). */
export function applyReluNet(
  net: ReluNet,
  x: ArrayLike<number>,
  out: Float64Array,
  scratch: Float64Array = new Float64Array(net.hidden),
): void {
  const { inputs, hidden, outputs } = net;
  for (let k = 0; k < hidden; k++) {
    let s = net.inBias[k]!;
    for (let a = 0; a < inputs; a++) s += x[a]! * net.inWeight[a * hidden + k]!;
    scratch[k] = s > 0 ? s : 0;
  }
  for (let c = 0; c < outputs; c++) {
    let s = net.outBias[c]!;
    for (let k = 0; k < hidden; k++) s += scratch[k]! * net.outWeight[k * outputs + c]!;
    out[c] = s;
  }
}
