/**
 * Layers shared by the models, written with ops whose second derivatives are exact (see
 * @tdx/tensor): dense layers as one 2-D matmul, pre-LayerNorm Transformer blocks with separate
 * query/key/value/output projections, and scaled dot-product attention.
 */
import {
  gelu,
  layerNorm,
  tf,
  type AttentionKernel,
  type ParamBlockSpec,
  type ParamValues,
  type Rng,
  type Tensor,
} from '@tdx/tensor';
import { attend } from './kernels/attention.js';
import { softmaxKernel } from './kernels/softmax-kernel.js';

export type BlockInit = ParamBlockSpec & { init: { values: ArrayLike<number>; shape: number[] } };

export function normalInit(
  rng: Rng,
  shape: number[],
  std: number,
): { values: Float64Array; shape: number[] } {
  return {
    values: rng.normalArray(
      shape.reduce((a, b) => a * b, 1),
      0,
      std,
    ),
    shape,
  };
}

export function constantInit(
  shape: number[],
  value: number,
): { values: Float64Array; shape: number[] } {
  return { values: new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape };
}

/** x W + b over the last axis of x, as one 2-D matmul. */
export function dense(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const rows = x.size / x.shape[x.rank - 1]!;
  const y = tf.matMul(tf.reshape(x, [rows, x.shape[x.rank - 1]!]), weight);
  const out = bias ? tf.add(y, bias) : y;
  return tf.reshape(out, [...x.shape.slice(0, -1), weight.shape[1]!]);
}

/**
 * softmax(q kᵀ / √d) v over q, k, v of shape [batch, heads, tokens, d], with keys masked where
 * `allowed` ([tokens, tokens]) is 0: the `softmax` kernel with its default scale.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  allowed?: Tensor,
): Tensor {
  return attend(softmaxKernel({}), q, k, v, allowed);
}

/** A causal mask: 1 where a token may attend (itself and earlier ones), 0 elsewhere. */
export function causalMask(tokens: number): Tensor {
  return tf.tidy(() => tf.linalg.bandPart(tf.ones([tokens, tokens]), -1, 0));
}

export interface BlockShape {
  width: number;
  heads: number;
  mlpWidth: number;
}

/** Parameter blocks of one pre-LayerNorm Transformer block, named `layers.<l>.*`. */
export function transformerBlockParams(
  layer: number,
  shape: BlockShape,
  rng: Rng,
  initStd: number,
): BlockInit[] {
  const { width: D, mlpWidth: M } = shape;
  const p = `layers.${layer}`;
  const w = (
    name: string,
    role: ParamBlockSpec['role'],
    rows: number,
    cols: number,
  ): BlockInit[] => [
    { name, role, layer, init: normalInit(rng, [rows, cols], initStd) },
    { name: `${name}.bias`, role: 'bias', layer, init: constantInit([cols], 0) },
  ];
  return [
    { name: `${p}.norm1.gain`, role: 'norm', layer, init: constantInit([D], 1) },
    { name: `${p}.norm1.bias`, role: 'norm', layer, init: constantInit([D], 0) },
    ...w(`${p}.attn.query`, 'query', D, D),
    ...w(`${p}.attn.key`, 'key', D, D),
    ...w(`${p}.attn.value`, 'value', D, D),
    ...w(`${p}.attn.output`, 'output', D, D),
    { name: `${p}.norm2.gain`, role: 'norm', layer, init: constantInit([D], 1) },
    { name: `${p}.norm2.bias`, role: 'norm', layer, init: constantInit([D], 0) },
    ...w(`${p}.mlp.in`, 'mlp', D, M),
    ...w(`${p}.mlp.out`, 'mlp', M, D),
  ];
}

/** [batch, tokens, width] -> [batch, heads, tokens, width / heads]. */
function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, T, D] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [B, T, heads, D / heads]), [0, 2, 1, 3]);
}

/** x + attn(LN(x)); then x + MLP(LN(x)), with GELU (exact, erf); attention through `kernel`. */
export function transformerBlock(
  x: Tensor,
  values: ParamValues,
  layer: number,
  heads: number,
  kernel: AttentionKernel,
  allowed?: Tensor,
): Tensor {
  const p = (name: string) => values[`layers.${layer}.${name}`]!;
  const [B, T, D] = x.shape as [number, number, number];
  const h = layerNorm(x, p('norm1.gain'), p('norm1.bias'));
  const q = splitHeads(dense(h, p('attn.query'), p('attn.query.bias')), heads);
  const k = splitHeads(dense(h, p('attn.key'), p('attn.key.bias')), heads);
  const v = splitHeads(dense(h, p('attn.value'), p('attn.value.bias')), heads);
  const attended = tf.reshape(tf.transpose(attend(kernel, q, k, v, allowed), [0, 2, 1, 3]), [
    B,
    T,
    D,
  ]);
  const afterAttention = tf.add(x, dense(attended, p('attn.output'), p('attn.output.bias')));
  const m = layerNorm(afterAttention, p('norm2.gain'), p('norm2.bias'));
  const mlp = dense(gelu(dense(m, p('mlp.in'), p('mlp.in.bias'))), p('mlp.out'), p('mlp.out.bias'));
  return tf.add(afterAttention, mlp);
}
