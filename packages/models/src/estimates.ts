/**
 * Size estimates of the built-in models, from their config and the dataset's estimate (its
 * shapes and batch size; see `estimate` in @tdx/core): parameters (exact), the memory of one
 * step's activations kept for the backward pass, and the floating-point work of a step (rough,
 * within a few times). tdx refuses a spec whose runs cannot fit before any work starts.
 *
 * Without the dataset's shapes (a dataset that gives no estimate) a model estimates nothing.
 */
import type { DataEstimate, EstimateContext, ResourceEstimate } from '@tdx/core';

const FLOAT = 4;
/** Forward, backward (about twice the forward) and the gradients' own activations. */
const TRAINING_WORK = 3;

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const dataOf = (ctx: EstimateContext): DataEstimate | undefined => ctx.dataset?.data;

interface TransformerShape {
  layers: number;
  width: number;
  heads: number;
  headDim?: number | undefined;
  mlpRatio: number;
  mlpWidth?: number | undefined;
  parameterization: 'standard' | 'mean-field';
}

/** Parameters of one pre-LayerNorm block (transformer-block.ts), both parameterisations. */
function blockParameters(c: TransformerShape): number {
  const D = c.width;
  const inner = c.heads * (c.headDim ?? D / c.heads);
  const N = c.mlpWidth ?? c.mlpRatio * D;
  const norms = 4 * D;
  if (c.parameterization === 'mean-field') return norms + 4 * D * inner + 2 * D * N + N;
  return norms + 3 * (D * inner + inner) + inner * D + D + D * N + N + N * D + D;
}

/** Activations and work of the blocks over `tokens` tokens of `batch` sequences. */
function blocksCost(
  c: TransformerShape,
  batch: number,
  tokens: number,
): { activations: number; flops: number } {
  const D = c.width;
  const inner = c.heads * (c.headDim ?? D / c.heads);
  const N = c.mlpWidth ?? c.mlpRatio * D;
  const perLayer = batch * tokens * (6 * D + 4 * inner + 2 * N) + 2 * batch * c.heads * tokens ** 2;
  const flops =
    2 * batch * tokens * (blockParameters(c) - 4 * D) + 4 * batch * tokens * tokens * inner;
  return { activations: c.layers * perLayer, flops: c.layers * flops };
}

function result(parameters: number, activations: number, flopsForward: number): ResourceEstimate {
  return {
    parameters,
    // Kept for the backward pass, and about as much again while gradients flow.
    memoryBytes: 2 * activations * FLOAT,
    flopsPerStep: TRAINING_WORK * flopsForward,
  };
}

export function estimateLinearTransformer(
  c: {
    layers: number;
    heads: number;
    parameterization: 'sparse' | 'full';
    scores: 'linear' | 'softmax' | 'relu';
    covariateMlp?: { hidden: number } | undefined;
  },
  ctx: EstimateContext,
): ResourceEstimate {
  const data = dataOf(ctx);
  if (!data || data.inputShape.length !== 2) return {};
  const [rows, cols] = data.inputShape as [number, number];
  const d = cols - 1;
  const block = c.parameterization === 'sparse' ? d : d + 1;
  const hidden = c.covariateMlp?.hidden;
  const parameters =
    c.layers * c.heads * 2 * block * block + (hidden ? 2 * d * hidden + hidden + d : 0);
  const B = data.batchSize;
  const T = rows;
  const W = cols;
  // Softmax and ReLU scores form the T x T score matrix (the linear one never does).
  const softmax = c.scores === 'linear' ? 0 : T * T;
  const perHead = B * (2 * T * W + 2 * W * W + softmax);
  const activations = c.layers * (B * T * W + B * W * W + c.heads * perHead);
  const flops =
    c.layers * (2 * B * T * W * W + c.heads * B * (4 * T * W * W + 2 * W ** 3 + 2 * softmax * W)) +
    (hidden ? 4 * B * T * d * hidden : 0);
  return result(parameters, activations, flops);
}

export function estimateGpt(
  c: TransformerShape & { tiedHead: boolean; maxLength?: number | undefined },
  ctx: EstimateContext,
): ResourceEstimate {
  const data = dataOf(ctx);
  const V = data?.meta.vocabulary;
  if (!data || typeof V !== 'number') return {};
  const length = data.inputShape[0] ?? 1;
  const T = c.maxLength ?? length;
  const D = c.width;
  const parameters =
    V * D + T * D + c.layers * blockParameters(c) + 2 * D + (c.tiedHead ? 0 : D * V + V);
  const B = data.batchSize;
  const blocks = blocksCost(c, B, length);
  return result(
    parameters,
    blocks.activations + 3 * B * length * V,
    blocks.flops + 2 * B * length * D * V,
  );
}

export function estimateVit(
  c: TransformerShape & { patch: number },
  ctx: EstimateContext,
): ResourceEstimate {
  const data = dataOf(ctx);
  const classes = data?.meta.classes;
  if (!data || typeof classes !== 'number' || data.inputShape.length < 2) return {};
  const [height, width, channels = 1] = data.inputShape as [number, number, number?];
  const P = c.patch;
  const patches = Math.floor(height / P) * Math.floor(width / P);
  const D = c.width;
  const parameters =
    P * P * channels * D +
    D +
    D +
    (patches + 1) * D +
    c.layers * blockParameters(c) +
    2 * D +
    D * classes +
    classes;
  const B = data.batchSize;
  const blocks = blocksCost(c, B, patches + 1);
  return result(
    parameters,
    blocks.activations + 2 * B * height * width * channels,
    blocks.flops + 2 * B * patches * P * P * channels * D,
  );
}

export function estimateTextTransformer(
  c: TransformerShape,
  ctx: EstimateContext,
): ResourceEstimate {
  const data = dataOf(ctx);
  const V = data?.meta.vocabulary;
  const classes = data?.meta.classes;
  if (!data || typeof V !== 'number' || typeof classes !== 'number') return {};
  const length = data.inputShape[0] ?? 1;
  const D = c.width;
  const parameters =
    V * D + length * D + c.layers * blockParameters(c) + 2 * D + D * classes + classes;
  const blocks = blocksCost(c, data.batchSize, length);
  return result(parameters, blocks.activations, blocks.flops);
}

export function estimateOneLayerAttention(
  c: { heads: number; keyDim?: number | undefined; output: boolean },
  ctx: EstimateContext,
): ResourceEstimate {
  const data = dataOf(ctx);
  if (!data || data.inputShape.length !== 2 || data.targetShape.length !== 2) return {};
  const [n, d] = data.inputShape as [number, number];
  const out = data.targetShape[1]!;
  const H = c.heads;
  const p = c.keyDim ?? d;
  const valueWidth = c.output ? d : out;
  const parameters = 2 * d * H * p + d * valueWidth + (c.output ? d * out : 0);
  const B = data.batchSize;
  const activations = B * (2 * H * n * n + n * (2 * H * p + 2 * valueWidth + out));
  const flops = 2 * B * n * parameters + 2 * B * H * n * n * (p + valueWidth / H);
  return result(parameters, activations, flops);
}

export function estimateMlp(c: { hidden: number[] }, ctx: EstimateContext): ResourceEstimate {
  const data = dataOf(ctx);
  if (!data) return {};
  const inputs = product(data.inputShape);
  const classes = data.meta.classes;
  const outputs = typeof classes === 'number' ? classes : Math.max(1, product(data.targetShape));
  const sizes = [inputs, ...c.hidden, outputs];
  let parameters = 0;
  for (let i = 1; i < sizes.length; i++) parameters += sizes[i - 1]! * sizes[i]! + sizes[i]!;
  const B = data.batchSize;
  const activations = 2 * B * sizes.reduce((a, b) => a + b, 0);
  return result(parameters, activations, 2 * B * parameters);
}

export function estimateCnn(
  c: { channels: number[]; kernel: number; pool: number },
  ctx: EstimateContext,
): ResourceEstimate {
  const data = dataOf(ctx);
  const classes = data?.meta.classes;
  if (!data || typeof classes !== 'number' || data.inputShape.length < 2) return {};
  const [height, width, channels = 1] = data.inputShape as [number, number, number?];
  const k = c.kernel;
  const B = data.batchSize;
  let [h, w, inC] = [height, width, channels];
  let parameters = 0;
  let activations = B * h * w * inC;
  let flops = 0;
  for (const out of c.channels) {
    parameters += k * k * inC * out + out;
    // im2col columns, the convolution's output and its activation.
    activations += B * h * w * (k * k * inC + 2 * out);
    flops += 2 * B * h * w * k * k * inC * out;
    h = Math.floor(h / c.pool);
    w = Math.floor(w / c.pool);
    inC = out;
  }
  parameters += h * w * inC * classes + classes;
  flops += 2 * B * h * w * inC * classes;
  return result(parameters, activations, flops);
}

/**
 * A convolutional network's estimate from its parameter blocks (resnet, vgg: exact count). Its
 * activations and work are bounded above as if every convolution ran at the input's resolution
 * (their stages only shrink the feature map), so the size check errs on the side of refusing.
 */
export function estimateFromConvShapes(
  shapes: ReadonlyArray<{ shape: readonly number[]; role?: string }>,
  ctx: EstimateContext,
): ResourceEstimate {
  const data = dataOf(ctx);
  if (!data || data.inputShape.length < 2) return {};
  const [height, width] = data.inputShape as [number, number];
  const positions = data.batchSize * height * width;
  let activations = positions * product(data.inputShape.slice(2));
  let flops = 0;
  for (const { shape, role } of shapes) {
    if (role !== 'conv' || shape.length !== 2) continue;
    const [columns, out] = shape as [number, number];
    // im2col columns, the convolution's output, its normalisation and activation.
    activations += positions * (columns + 3 * out);
    flops += 2 * positions * columns * out;
  }
  const parameters = shapes.reduce((a, s) => a + product(s.shape), 0);
  return result(parameters, activations, flops + 2 * data.batchSize * parameters);
}

export function estimateQuadraticForm(_c: unknown, ctx: EstimateContext): ResourceEstimate {
  const data = dataOf(ctx);
  const sizes = data?.meta.blockSizes;
  if (!data || typeof sizes !== 'string') return {};
  const n = sizes.split(',').reduce((a, s) => a + Number(s), 0);
  return result(n, 2 * n, 2 * n * n);
}
