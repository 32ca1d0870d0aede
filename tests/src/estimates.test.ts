/**
 * Size estimates of the built-in plugins: a model's estimated parameters equal the parameters
 * of the model it builds (counted from its ParamSet, an independent measure), and a dataset's
 * estimated shapes are the shapes of the DatasetInfo it creates.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '@tdx/cli';
import { estimateRun, type PluginKind, type ResourceEstimate } from '@tdx/core';
import { useBackend, type Dataset, type ModelBuilder } from '@tdx/tensor';

const registry = createDefaultRegistry();

beforeAll(async () => {
  await useBackend('cpu');
});

const cases: Array<{
  title: string;
  dataset: Record<string, unknown>;
  model: Record<string, unknown>;
}> = [
  {
    title: 'linear-transformer (sparse)',
    dataset: { name: 'icl-linear-regression', d: 5, n: 20, batchSize: 8 },
    model: { name: 'linear-transformer', layers: 3, heads: 2 },
  },
  {
    title: 'linear-transformer (full, covariate MLP)',
    dataset: { name: 'icl-linear-regression', d: 4, n: 10, batchSize: 8 },
    model: {
      name: 'linear-transformer',
      layers: 2,
      parameterization: 'full',
      covariateMlp: { hidden: 7 },
    },
  },
  {
    title: 'gpt',
    dataset: { name: 'markov-text', vocabulary: 16, length: 8 },
    model: { name: 'gpt', layers: 2, width: 16, heads: 2 },
  },
  {
    title: 'gpt (mean-field, tied head)',
    dataset: { name: 'markov-text', vocabulary: 12, length: 6 },
    model: {
      name: 'gpt',
      layers: 1,
      width: 8,
      heads: 3,
      headDim: 4,
      mlpWidth: 10,
      parameterization: 'mean-field',
      tiedHead: true,
    },
  },
  {
    title: 'vit',
    dataset: { name: 'mnist', downsample: 2 },
    model: { name: 'vit', layers: 1, width: 16, heads: 2, patch: 7 },
  },
  {
    title: 'text-transformer',
    dataset: { name: 'spam-assassin', length: 16, vocabulary: 50 },
    model: { name: 'text-transformer', layers: 1, width: 8, heads: 2 },
  },
  {
    title: 'one-layer-attention',
    dataset: { name: 'token-regression', sequences: 3, tokens: 4, dimension: 6, outputs: 2 },
    model: { name: 'one-layer-attention', heads: 2, keyDim: 3 },
  },
  {
    title: 'one-layer-attention with output',
    dataset: { name: 'token-regression', sequences: 3, tokens: 4, dimension: 6, outputs: 2 },
    model: { name: 'one-layer-attention', output: true },
  },
  {
    title: 'mlp',
    dataset: { name: 'mnist', downsample: 4 },
    model: { name: 'mlp', hidden: [12, 5] },
  },
  {
    title: 'cnn',
    dataset: { name: 'mnist' },
    model: { name: 'cnn', channels: [3, 4], kernel: 3, pool: 2 },
  },
  {
    title: 'gpt (size small) on mail-text',
    dataset: { name: 'mail-text', length: 12 },
    model: { name: 'gpt', size: 'small' },
  },
  {
    title: 'resnet (batch norm, projections)',
    dataset: { name: 'mnist', downsample: 2 },
    model: { name: 'resnet', width: 4, blocks: [1, 2] },
  },
  {
    title: 'resnet (no norm)',
    dataset: { name: 'mnist', downsample: 4 },
    model: { name: 'resnet', width: 2, blocks: [1], norm: 'none' },
  },
  {
    title: 'vgg',
    dataset: { name: 'mnist', downsample: 2 },
    model: { name: 'vgg', stages: [[3], [4, 4]], hidden: [6] },
  },
  {
    title: 'quadratic-form',
    dataset: { name: 'quadratic', blocks: 3, blockSize: 4 },
    model: { name: 'quadratic-form' },
  },
];

function resolved(kind: PluginKind, ref: Record<string, unknown>) {
  const r = registry.resolve(kind, ref);
  return { name: r.plugin.name, label: r.label, config: r.config as Record<string, unknown> };
}

describe('size estimates of the built-in plugins', () => {
  it.each(cases)('$title: estimated parameters and shapes are those built', (c) => {
    const dataset = registry.create<Dataset>('dataset', c.dataset);
    const model = registry.create<ModelBuilder>('model', c.model).build(dataset.info);
    const datasetPlugin = registry.get('dataset', c.dataset.name as string);
    const modelPlugin = registry.get('model', c.model.name as string);
    const dataEstimate: ResourceEstimate = datasetPlugin.estimate!(
      resolved('dataset', c.dataset).config,
      { steps: 1 },
    );
    expect(dataEstimate.data?.inputShape).toEqual(dataset.info.inputShape);
    expect(dataEstimate.data?.targetShape).toEqual(dataset.info.targetShape);
    const estimate = modelPlugin.estimate!(resolved('model', c.model).config, {
      steps: 1,
      dataset: dataEstimate,
    });
    expect(estimate.parameters).toBe(model.params.size);
    expect(estimate.memoryBytes).toBeGreaterThan(0);
    expect(estimate.flopsPerStep).toBeGreaterThan(0);
    model.dispose();
    dataset.dispose();
  });

  it('adds up a run: parameters, state and data within the memory, steps in the work', () => {
    const run = {
      name: 'x',
      seed: 0,
      plugins: [],
      backend: resolved('backend', { name: 'cpu' }),
      trainer: { name: 'minibatch', label: 'minibatch', config: { leakCheck: 'error' } },
      dataset: resolved('dataset', { name: 'icl-linear-regression', d: 5, n: 20, batchSize: 10 }),
      model: resolved('model', { name: 'linear-transformer', layers: 3 }),
      optimizer: resolved('optimizer', { name: 'adam', lr: 0.01 }),
      train: { steps: 1000, logEvery: 10 },
      analyses: [],
    };
    const estimate = estimateRun(run, registry);
    // 3 layers × (P, Q) of 5×5.
    expect(estimate.parameters).toBe(150);
    // Parameters take 4 B × (value, gradient, update, two Adam moments) at least.
    expect(estimate.memoryBytes).toBeGreaterThan(150 * 4 * 5);
    expect(estimate.seconds).toBeGreaterThanOrEqual(1000 * 2e-5);
    // 101 records of metrics at least.
    expect(estimate.diskBytes).toBeGreaterThan(101 * 100);
  });
});
