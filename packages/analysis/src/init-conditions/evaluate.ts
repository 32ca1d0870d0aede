/** One evaluation of init-conditions: the layer on the host, its spectra, checks and rates. */
import type { AnalysisOutput } from '@tdx/core';
import { norm, tf, type AnalysisTarget } from '@tdx/tensor';
import { conditionChecks, conditionNotes, conditionThresholds } from './checks.js';
import {
  finite,
  FLOAT32_EPSILON,
  type InitConditionsConfig,
  type InitConditionsData,
  type KernelMatrixModel,
} from './config.js';
import { kernelModel, layerBatch, readLayer, type HostLayer } from './layer.js';
import { checkedLoss, residual, stackedInputs } from './least-squares.js';
import { headSpectra, kernelConditions, type HeadSpectrum } from './spectra.js';
import { valueOnlyRate } from './value-only-gd.js';
import { ATTENTION_ROLES, weightSpectra } from './weight-spectra.js';

export function initConditions(
  target: AnalysisTarget,
  config: InitConditionsConfig,
): AnalysisOutput & { value: number; data: InitConditionsData } {
  const model = kernelModel(target.model);
  const { batch, owned } = layerBatch(target, config);
  try {
    const layer = readLayer(target, model, batch, config);
    const data = evaluateLayer(target, model, layer, config);
    return { value: data.lambdaMin, data };
  } finally {
    if (owned) tf.dispose([batch.inputs, batch.targets]);
  }
}

function evaluateLayer(
  target: AnalysisTarget,
  model: KernelMatrixModel,
  layer: HostLayer,
  config: InitConditionsConfig,
): InitConditionsData {
  const { N, d, rows } = layer;
  const tolerance = config.rankTolerance ?? Math.max(rows, d) * FLOAT32_EPSILON;
  const B = stackedInputs(layer);
  const R = residual(layer, B);
  const loss = checkedLoss(layer, R);
  const perHead = headSpectra(B, rows, d, tolerance);
  const kernels = kernelConditions(layer.S, N, layer.H, layer.n);
  const sigmaMin = Math.min(...perHead.map((p) => p.sigmaMin));
  const weightNorms = Object.fromEntries(
    target.params.blocks.map((b) => [b.name, norm(b.variable.dataSync())]),
  );
  const { checks, ratios } = conditionChecks(
    { d, rows, loss, sigmaMin, weightNorms, perHead, kernels },
    config,
  );
  const notes = conditionNotes({
    d,
    rows,
    checks,
    trainable: target.params.trainable().names,
    valueName: model.valuePath.value,
  });
  const valueOnlyGd = valueOnlyRate({ ...layer, tolerance, R, perHead }, config);
  const weights = weightSpectra(
    target.params.blocks
      .filter(
        (b) => b.shape.length === 2 && (ATTENTION_ROLES as readonly string[]).includes(b.role),
      )
      .map((b) => ({
        name: b.name,
        role: b.role,
        rows: b.shape[0]!,
        cols: b.shape[1]!,
        values: b.variable.dataSync(),
      })),
  );
  return {
    sequences: N,
    tokens: layer.n,
    dimension: d,
    outputs: layer.out,
    heads: layer.H,
    rows,
    batch: config.batch,
    loss,
    checks,
    thresholds: conditionThresholds(tolerance, config),
    sigmaMin,
    lambdaMin: sigmaMin ** 2,
    ratios,
    weightNorms,
    stackedInputs: perHead.map(stackedInputRecord),
    kernels: kernels.map((k) => ({ ...k, worstConditionNumber: finite(k.worstConditionNumber) })),
    weightSpectra: weights.spectra,
    weightRatios: weights.ratios,
    valueOnlyGd,
    notes,
  };
}

const stackedInputRecord = (p: HeadSpectrum): InitConditionsData['stackedInputs'][number] => ({
  rank: p.rank,
  sigmaMin: p.sigmaMin,
  sigmaMax: p.sigmaMax,
  conditionNumber: finite(p.sigmaMax / p.sigmaMin),
  lambdaMin: p.sigmaMin ** 2,
  singularValues: Array.from(p.sv),
});
