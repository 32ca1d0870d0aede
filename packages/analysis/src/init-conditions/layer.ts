/**
 * The attention layer on the host: its inputs X, targets Y, kernel matrices S and value (and
 * output) weights read from the model into float64 arrays, with their sizes checked.
 */
import { TdxError } from '@tdx/core';
import { tf, type AnalysisTarget, type Batch, type Tensor } from '@tdx/tensor';
import type { InitConditionsConfig, KernelMatrixModel } from './config.js';

/** One attention layer's data and weights, float64 and row-major. */
export interface HostLayer {
  /** Sequences N, tokens per sequence n, dimension d, outputs, heads H. */
  N: number;
  n: number;
  d: number;
  out: number;
  H: number;
  /** N·n. */
  rows: number;
  /** H·v, the value block's columns, and v per head. */
  width: number;
  v: number;
  /** [N, n, d], [N, n, out], [N, H, n, n]. */
  X: Float64Array;
  Y: Float64Array;
  S: Float64Array;
  /** W_V [d, H·v] and W_O [H·v, out] when the model has one. */
  WV: Float64Array;
  WO: Float64Array | undefined;
  /** The loss the model reports for this batch. */
  modelLoss: number;
}

export function kernelModel(model: unknown): KernelMatrixModel {
  const m = model as Partial<KernelMatrixModel> | undefined;
  if (typeof m?.kernelMatrices !== 'function' || typeof m.valuePath !== 'object') {
    throw new TdxError(
      'INVALID_ARGUMENT',
      'init-conditions needs a model that exposes its attention kernel matrices (kernelMatrices(values, inputs) and valuePath); this model does not',
      {
        hint: 'use it with the one-layer-attention model (the one-layer regime of Song et al. 2024)',
      },
    );
  }
  return m as KernelMatrixModel;
}

const read = (t: Tensor): Float64Array => Float64Array.from(t.dataSync());

/** The batch init-conditions analyses, and whether it is owned here (to be disposed). */
export function layerBatch(
  target: AnalysisTarget,
  config: InitConditionsConfig,
): { batch: Batch; owned: boolean } {
  if (config.batch !== 'training') return { batch: target.analysisBatch(), owned: false };
  const batch = tf.tidy(
    () => target.dataset.batch(target.step) as unknown as tf.TensorContainer,
  ) as unknown as Batch;
  return { batch, owned: true };
}

/** The layer's data and weights on the host, checked against each other and maxGramSize. */
export function readLayer(
  target: AnalysisTarget,
  model: KernelMatrixModel,
  batch: Batch,
  config: InitConditionsConfig,
): HostLayer {
  const { heads: H, value: valueName, output: outputName } = model.valuePath;
  if (batch.inputs.rank !== 3 || batch.targets.rank !== 3)
    throw new TdxError(
      'SHAPE_MISMATCH',
      `init-conditions needs token sequences [N, n, d] and targets [N, n, out], got [${batch.inputs.shape}] and [${batch.targets.shape}]`,
      { hint: 'use it with the token-regression dataset' },
    );
  const [N, n, d] = batch.inputs.shape as [number, number, number];
  const out = batch.targets.shape[2]!;
  const rows = N * n;
  const values = target.params.values();
  const X = read(batch.inputs);
  const Y = read(batch.targets);
  const kernelTensor = model.kernelMatrices(values, batch.inputs);
  const S = read(kernelTensor);
  kernelTensor.dispose();
  const modelLoss = tf.tidy(() => target.lossOn(batch)(values).dataSync()[0]!);
  const WV = read(target.params.block(valueName).variable);
  const WO = outputName ? read(target.params.block(outputName).variable) : undefined;
  const width = WV.length / d; // H·v
  const v = width / H;
  if (S.length !== N * H * n * n || !Number.isInteger(v))
    throw new TdxError(
      'PLUGIN_CONTRACT',
      `the model's kernel matrices (${S.length} entries) or value block [${target.params.block(valueName).shape}] do not fit ${N} sequences of ${n} tokens in dimension ${d} with ${H} heads`,
    );
  if (Math.min(rows, d) > config.maxGramSize || (WO && Math.min(out, width) > config.maxGramSize))
    throw new TdxError(
      'INVALID_ARGUMENT',
      `init-conditions would decompose a ${Math.min(rows, d)}-square Gram matrix, above maxGramSize ${config.maxGramSize}`,
      {
        hint: 'analyse fewer sequences or tokens, or raise maxGramSize (the cost grows as its cube)',
      },
    );
  return { N, n, d, out, H, rows, width, v, X, Y, S, WV, WO, modelLoss };
}
