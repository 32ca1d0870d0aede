/**
 * One pre-LayerNorm Transformer block, shared by gpt, vit and text-transformer, in two
 * parameterisations:
 *
 * - `standard`: H ← H + attn(LN(H)); H ← H + MLP(LN(H)), each projection with a bias; the heads
 *   split the width (p = width / heads), and the output projection sums the heads.
 * - `mean-field` (Gao et al., NeurIPS 2024; Lu et al. 2020): every sublayer is an average of
 *   M exchangeable units scaled by depth, H ← H + (α / (L·M)) Σ_j f(LN(H); θ_j). An attention
 *   unit is one head, θ_j = (W_Q,j, W_K,j, W_V,j, W_O,j) with W_Q,j, W_K,j, W_V,j ∈ R^{D×p} and
 *   W_O,j ∈ R^{p×D}; an MLP unit is one neuron, θ_j = (w_j ∈ R^D, b_j, a_j ∈ R^D), f = a_j·gelu(w_jᵀh
 *   + b_j). No other biases. Heads keep their dimension p as M grows (they need not divide D).
 *   Every unit's blocks carry lrScale = L·M, so that gradient descent with learning rate η moves
 *   each particle at O(1) speed and η·steps is the time τ of the limit's Wasserstein gradient
 *   flow (see ParamBlockSpec.lrScale); an optimizer's weight decay λ then gives −λθ in that flow.
 */
import {
  gelu,
  layerNorm,
  tf,
  type AttentionKernel,
  type MeanFieldScaling,
  type MeanField,
  type ParamBlockSpec,
  type ParamValues,
  type ParticleGroup,
  type Rng,
  type Tensor,
} from '@tdx/tensor';
import { attend } from './kernels/attention.js';
import { constantInit, dense, normalInit, type BlockInit } from './layers.js';

export type Parameterization = 'standard' | 'mean-field';

export interface BlockShape {
  /** D: the residual stream's width. */
  width: number;
  /** M of the attention sublayer. */
  heads: number;
  /** p: each head's query/key/value width. Standard: width / heads. */
  headDim: number;
  /** Neurons of the MLP sublayer (M of the MLP in mean-field). */
  mlpWidth: number;
  parameterization: Parameterization;
  /** L: the number of blocks (mean-field scales each branch by 1/L). */
  layers: number;
  /** α of the mean-field scaling. */
  alpha: number;
}

/** The standard shape: heads split the width, no mean-field scaling. */
export function standardShape(width: number, heads: number, mlpWidth: number): BlockShape {
  return {
    width,
    heads,
    headDim: width / heads,
    mlpWidth,
    parameterization: 'standard',
    layers: 1,
    alpha: 1,
  };
}

/** Mean-field branch scales α / (L·M) of the two sublayers; 1 in the standard parameterisation. */
export function branchScales(shape: BlockShape): { attention: number; mlp: number } {
  if (shape.parameterization === 'standard') return { attention: 1, mlp: 1 };
  return {
    attention: shape.alpha / (shape.layers * shape.heads),
    mlp: shape.alpha / (shape.layers * shape.mlpWidth),
  };
}

export function meanFieldScaling(shape: BlockShape): MeanFieldScaling | undefined {
  return shape.parameterization === 'mean-field'
    ? { layers: shape.layers, heads: shape.heads, neurons: shape.mlpWidth, alpha: shape.alpha }
    : undefined;
}

/**
 * The mean-field units' initial values, each unit drawn from its own stream (layer, kind,
 * index): the first M units of a model with 2M are those of the model with M, and the other
 * parameters do not depend on M, so models of different sizes are coupled and their distance
 * measures the limit, not unrelated draws.
 */
function meanFieldUnits(
  layer: number,
  shape: BlockShape,
  rng: Rng,
  initStd: number,
): Record<'query' | 'key' | 'value' | 'output' | 'mlpIn' | 'mlpOut', Float64Array> {
  const { width: D, heads: M, headDim: P, mlpWidth: N } = shape;
  const query = new Float64Array(D * M * P);
  const key = new Float64Array(D * M * P);
  const value = new Float64Array(D * M * P);
  const output = new Float64Array(M * P * D);
  for (let j = 0; j < M; j++) {
    const unit = rng.fork('layer', layer, 'head', j).normalArray(4 * D * P, 0, initStd);
    let at = 0;
    for (const matrix of [query, key, value])
      for (let r = 0; r < D; r++)
        for (let c = 0; c < P; c++) matrix[r * M * P + j * P + c] = unit[at++]!;
    for (let r = 0; r < P; r++)
      for (let c = 0; c < D; c++) output[(j * P + r) * D + c] = unit[at++]!;
  }
  const mlpIn = new Float64Array(D * N);
  const mlpOut = new Float64Array(N * D);
  for (let j = 0; j < N; j++) {
    const unit = rng.fork('layer', layer, 'neuron', j).normalArray(2 * D, 0, initStd);
    for (let r = 0; r < D; r++) mlpIn[r * N + j] = unit[r]!;
    for (let c = 0; c < D; c++) mlpOut[j * D + c] = unit[D + c]!;
  }
  return { query, key, value, output, mlpIn, mlpOut };
}

/** Parameter blocks of one block, named `layers.<l>.*`, drawn in a fixed order. */
export function transformerBlockParams(
  layer: number,
  shape: BlockShape,
  rng: Rng,
  initStd: number,
): BlockInit[] {
  if (shape.parameterization === 'mean-field')
    return meanFieldBlockParams(layer, shape, rng, initStd);
  const { width: D, mlpWidth: N } = shape;
  const inner = shape.heads * shape.headDim;
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
    ...w(`${p}.attn.query`, 'query', D, inner),
    ...w(`${p}.attn.key`, 'key', D, inner),
    ...w(`${p}.attn.value`, 'value', D, inner),
    ...w(`${p}.attn.output`, 'output', inner, D),
    { name: `${p}.norm2.gain`, role: 'norm', layer, init: constantInit([D], 1) },
    { name: `${p}.norm2.bias`, role: 'norm', layer, init: constantInit([D], 0) },
    ...w(`${p}.mlp.in`, 'mlp', D, N),
    ...w(`${p}.mlp.out`, 'mlp', N, D),
  ];
}

/** Mean-field blocks: units from meanFieldUnits, lrScale L·M, no biases but the neurons'. */
function meanFieldBlockParams(
  layer: number,
  shape: BlockShape,
  rng: Rng,
  initStd: number,
): BlockInit[] {
  const { width: D, mlpWidth: N } = shape;
  const inner = shape.heads * shape.headDim;
  const units = meanFieldUnits(layer, shape, rng, initStd);
  const p = `layers.${layer}`;
  const attention = { layer, lrScale: shape.layers * shape.heads };
  const mlp = { layer, lrScale: shape.layers * N };
  return [
    { name: `${p}.norm1.gain`, role: 'norm', layer, init: constantInit([D], 1) },
    { name: `${p}.norm1.bias`, role: 'norm', layer, init: constantInit([D], 0) },
    {
      name: `${p}.attn.query`,
      role: 'query',
      ...attention,
      init: { values: units.query, shape: [D, inner] },
    },
    {
      name: `${p}.attn.key`,
      role: 'key',
      ...attention,
      init: { values: units.key, shape: [D, inner] },
    },
    {
      name: `${p}.attn.value`,
      role: 'value',
      ...attention,
      init: { values: units.value, shape: [D, inner] },
    },
    {
      name: `${p}.attn.output`,
      role: 'output',
      ...attention,
      init: { values: units.output, shape: [inner, D] },
    },
    { name: `${p}.norm2.gain`, role: 'norm', layer, init: constantInit([D], 1) },
    { name: `${p}.norm2.bias`, role: 'norm', layer, init: constantInit([D], 0) },
    { name: `${p}.mlp.in`, role: 'mlp', ...mlp, init: { values: units.mlpIn, shape: [D, N] } },
    // A neuron's own bias b_j: part of its particle, trained at its rate; starts at 0.
    { name: `${p}.mlp.in.bias`, role: 'mlp', ...mlp, init: constantInit([N], 0) },
    { name: `${p}.mlp.out`, role: 'mlp', ...mlp, init: { values: units.mlpOut, shape: [N, D] } },
  ];
}

/**
 * x + s_att · attn(LN(x)); then x + s_mlp · MLP(LN(x)), GELU (exact, erf), attention through
 * `kernel`; s = 1 (standard) or α/(L·M) (mean-field). x is [batch, tokens, width].
 */
export function transformerBlock(
  x: Tensor,
  values: ParamValues,
  layer: number,
  shape: BlockShape,
  kernel: AttentionKernel,
  allowed?: Tensor,
): Tensor {
  return transformerStack(x, values, shape, kernel, allowed, [layer]);
}

/**
 * Blocks `layers` (default: every block of `shape`) in order on x [batch, tokens, width].
 * Between blocks the residual stream stays 2-D, [batch·tokens, width], so every projection is
 * one 2-D product without reshapes around it; the query, key and value projections are one
 * product with the three weight blocks side by side (they stay separate parameter blocks).
 * Kernel count matters: an exact Hessian-vector product replays every kernel about nine times.
 */
export function transformerStack(
  x: Tensor,
  values: ParamValues,
  shape: BlockShape,
  kernel: AttentionKernel,
  allowed?: Tensor,
  layers: readonly number[] = Array.from({ length: shape.layers }, (_, l) => l),
): Tensor {
  const [B, T, D] = x.shape as [number, number, number];
  let h = tf.reshape(x, [B * T, D]);
  for (const layer of layers) h = residualBlock(h, B, T, values, layer, shape, kernel, allowed);
  return tf.reshape(h, [B, T, D]);
}

/** One block on the 2-D residual stream x [B·T, D]. */
function residualBlock(
  x: Tensor,
  B: number,
  T: number,
  values: ParamValues,
  layer: number,
  shape: BlockShape,
  kernel: AttentionKernel,
  allowed?: Tensor,
): Tensor {
  const p = (name: string) => values[`layers.${layer}.${name}`]!;
  const bias = (name: string) => values[`layers.${layer}.${name}.bias`];
  const { heads: H, headDim: P } = shape;
  const inner = H * P;
  const scales = branchScales(shape);
  const h = layerNorm(x, p('norm1.gain'), p('norm1.bias'));
  const names = ['attn.query', 'attn.key', 'attn.value'];
  const biases = names.map(bias);
  const qkv = dense(
    h,
    tf.concat(names.map(p), 1),
    biases.every((b) => b !== undefined) ? tf.concat(biases as Tensor[], 0) : undefined,
  ); // [B·T, 3·H·P]
  // [B, T, 3·H, P] -> [B, 3·H, T, P] -> three [B, H, T, P]: the projections split into heads
  // (rank 4: the wasm backend transposes rank-5 tensors thirty times slower).
  const [q, k, v] = tf.split(
    tf.transpose(tf.reshape(qkv, [B, T, 3 * H, P]), [0, 2, 1, 3]),
    3,
    1,
  ) as [Tensor, Tensor, Tensor];
  const attended = tf.reshape(tf.transpose(attend(kernel, q, k, v, allowed), [0, 2, 1, 3]), [
    B * T,
    inner,
  ]);
  const attention = dense(attended, p('attn.output'), bias('attn.output'));
  const afterAttention = tf.add(x, scaled(attention, scales.attention));
  const m = layerNorm(afterAttention, p('norm2.gain'), p('norm2.bias'));
  const hidden = gelu(dense(m, p('mlp.in'), p('mlp.in.bias')));
  const mlp = dense(hidden, p('mlp.out'), bias('mlp.out'));
  return tf.add(afterAttention, scaled(mlp, scales.mlp));
}

const scaled = (x: Tensor, s: number): Tensor => (s === 1 ? x : tf.mul(x, s));

/**
 * The particles of every block at `values` (parameters, or any map of the same shapes, such as
 * gradients): per layer, one vector per head (its columns of W_Q, W_K, W_V, then its rows of
 * W_O) and one per neuron (its column of W_in, its bias, its row of W_out).
 */
export function transformerParticles(values: ParamValues, shape: BlockShape): ParticleGroup[] {
  const { width: D, heads: M, headDim: P, mlpWidth: N } = shape;
  const groups: ParticleGroup[] = [];
  for (let layer = 0; layer < shape.layers; layer++) {
    const read = (name: string) => values[`layers.${layer}.${name}`]!.dataSync();
    const [q, k, v, o] = ['attn.query', 'attn.key', 'attn.value', 'attn.output'].map(read);
    const headDimension = 4 * D * P;
    const heads = new Float64Array(M * headDimension);
    for (let j = 0; j < M; j++) {
      let at = j * headDimension;
      for (const matrix of [q!, k!, v!])
        for (let r = 0; r < D; r++)
          for (let c = 0; c < P; c++) heads[at++] = matrix[r * M * P + j * P + c]!;
      for (let r = 0; r < P; r++)
        for (let c = 0; c < D; c++) heads[at++] = o![(j * P + r) * D + c]!;
    }
    groups.push({ kind: 'attention', layer, count: M, dimension: headDimension, values: heads });
    const [wIn, bIn, wOut] = ['mlp.in', 'mlp.in.bias', 'mlp.out'].map(read);
    const neuronDimension = 2 * D + 1;
    const neurons = new Float64Array(N * neuronDimension);
    for (let j = 0; j < N; j++) {
      let at = j * neuronDimension;
      for (let r = 0; r < D; r++) neurons[at++] = wIn![r * N + j]!;
      neurons[at++] = bIn![j]!;
      for (let c = 0; c < D; c++) neurons[at++] = wOut![j * D + c]!;
    }
    groups.push({ kind: 'mlp', layer, count: N, dimension: neuronDimension, values: neurons });
  }
  return groups;
}

/** What a model adds to itself for mean-field analyses: its scaling and its particles. */
export function meanFieldParts(shape: BlockShape): MeanField | Record<never, never> {
  const meanField = meanFieldScaling(shape);
  return meanField ? { meanField, particles: (values) => transformerParticles(values, shape) } : {};
}
