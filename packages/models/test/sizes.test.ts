import { describe, expect, it } from 'vitest';
import { createRegistry } from '@tdx/core';
import { useBackend, type DatasetInfo, type ModelBuilder } from '@tdx/tensor';
import {
  buildGpt,
  buildMlp,
  buildVit,
  gptConfig,
  parameterCount,
  parameterShapes,
  register,
  sizedGptConfig,
  sizedMlpConfig,
  sizedVitConfig,
  vitConfig,
} from '../src/index.js';
import { imageInfo, lmInfo } from './support/checks.js';

const mlmInfo = (length: number, vocabulary: number) => ({
  task: 'masked-language-modelling',
  inputShape: [length],
  targetShape: [length],
  meta: { vocabulary },
});

describe('size presets', () => {
  it('small leaves every default as it was; a preset fills what is not given', () => {
    expect(sizedGptConfig.parse({})).toEqual({ ...gptConfig.parse({}), size: 'small' });
    expect(sizedVitConfig.parse({})).toEqual({ ...vitConfig.parse({}), size: 'small' });
    const nano = sizedGptConfig.parse({ size: 'nano' });
    expect([nano.layers, nano.width, nano.heads]).toEqual([6, 384, 6]);
    const override = sizedGptConfig.parse({ size: 'nano', layers: 4 });
    expect([override.layers, override.width]).toEqual([4, 384]);
    // The resolved config parses to itself: run specs reproduce with or without the preset.
    expect(sizedGptConfig.parse(override)).toEqual(override);
    expect(sizedMlpConfig.parse({ size: 'nano' }).hidden).toEqual([384, 384, 384, 384, 384, 384]);
    const registry = register(createRegistry());
    expect(registry.check('model', { name: 'vit', size: 'large' }, 'model').problems).toMatchObject(
      [{ path: 'model.size' }],
    );
    const { resolved } = registry.check('model', { name: 'resnet', size: 'paper' }, 'model');
    expect(resolved!.config).toMatchObject({
      size: 'paper',
      width: 64,
      blocks: [2, 2, 2, 2],
      stemKernel: 7,
    });
  });

  it('counts shapes exactly as the models build them, block by block', async () => {
    await useBackend('wasm');
    const cases: Array<[string, Record<string, unknown>, DatasetInfo]> = [
      ['gpt', { layers: 2, width: 16, heads: 2 }, lmInfo(12, 20)],
      ['gpt', { layers: 1, width: 8, heads: 2, tiedHead: true, maxLength: 16 }, lmInfo(12, 20)],
      ['gpt', { layers: 1, width: 8, heads: 2, parameterization: 'mean-field' }, lmInfo(6, 9)],
      ['vit', { layers: 1, width: 16, heads: 4 }, imageInfo(14, 10)],
      ['mlp', { hidden: [7, 5] }, imageInfo(6, 3)],
      ['resnet', { blocks: [2, 1] }, imageInfo(8, 4)],
      ['vgg', { stages: [[3], [4, 4]], hidden: [6, 5] }, imageInfo(8, 4)],
      ['bert', { layers: 1, width: 8, heads: 2, tiedHead: false }, mlmInfo(7, 11)],
    ];
    const registry = register(createRegistry());
    for (const [name, config, info] of cases) {
      const model = registry.create<ModelBuilder>('model', { name, ...config }).build(info);
      expect(parameterShapes(name, config, info).map((s) => [s.name, s.shape])).toEqual(
        model.params.blocks.map((b) => [b.name, [...b.shape]]),
      );
      model.dispose();
    }
    // And the models built directly from their own configs agree with the registry's.
    const direct = [
      buildGpt(gptConfig.parse({}), lmInfo(16, 32), 0),
      buildVit(vitConfig.parse({}), imageInfo(14, 10), 0),
      buildMlp(sizedMlpConfig.parse({}), imageInfo(14, 10), 0),
    ];
    expect(direct.map((m) => m.params.size)).toEqual([
      parameterCount('gpt', {}, lmInfo(16, 32)),
      parameterCount('vit', {}, imageInfo(14, 10)),
      parameterCount('mlp', {}, imageInfo(14, 10)),
    ]);
    direct.forEach((m) => m.dispose());
  });

  it('paper sizes on the paper’s data shapes have the published parameter counts', () => {
    const imagenet = imageInfo(224, 1000, 3);
    // GPT-2 small (HF GPT2Model, tied head): 124,439,808.
    expect(parameterCount('gpt', { size: 'paper' }, lmInfo(1024, 50257))).toBe(124_439_808);
    // BERT-base for masked LM (HF BertForMaskedLM: 109,514,298) without its token-type table.
    expect(parameterCount('bert', { size: 'paper' }, mlmInfo(512, 30522))).toBe(
      109_514_298 - 2 * 768,
    );
    // ViT-B/16 (timm vit_base_patch16_224): 86,567,656.
    expect(parameterCount('vit', { size: 'paper' }, imagenet)).toBe(86_567_656);
    // torchvision resnet18 and vgg16.
    expect(parameterCount('resnet', { size: 'paper' }, imagenet)).toBe(11_689_512);
    expect(parameterCount('vgg', { size: 'paper' }, imagenet)).toBe(138_357_544);
  });

  it('documents every preset’s count (README table) on the data it was sized for', () => {
    // small on the data of recipes/sgd-adam-gap.yaml: 98 characters (99 ids with the mask),
    // 32 tokens; 28×28 digits for vit, 14×14 for the others.
    expect({
      gpt: parameterCount('gpt', {}, lmInfo(32, 98)),
      bert: parameterCount('bert', {}, mlmInfo(32, 99)),
      vit: parameterCount('vit', {}, imageInfo(28, 10)),
      mlp: parameterCount('mlp', {}, imageInfo(14, 10)),
      resnet: parameterCount('resnet', {}, imageInfo(14, 10)),
      vgg: parameterCount('vgg', {}, imageInfo(14, 10)),
      mlpPaper: parameterCount('mlp', { size: 'paper' }, imageInfo(32, 10, 3)),
    }).toEqual({
      gpt: 114_786,
      bert: 112_867,
      vit: 105_098,
      mlp: 17_418,
      resnet: 19_810,
      vgg: 20_802,
      mlpPaper: 6_305_802,
    });
    // nano on nanoGPT's character data (65 characters, context 256; +1 mask id for bert) and
    // CIFAR-10 shapes; small on the study's data (recipes/sgd-adam-gap.yaml).
    const cifar = imageInfo(32, 10, 3);
    expect({
      gpt: parameterCount('gpt', { size: 'nano' }, lmInfo(256, 65)),
      bert: parameterCount('bert', { size: 'nano' }, mlmInfo(256, 66)),
      vit: parameterCount('vit', { size: 'nano' }, cifar),
      mlp: parameterCount('mlp', { size: 'nano' }, cifar),
      resnet: parameterCount('resnet', { size: 'nano' }, cifar),
      vgg: parameterCount('vgg', { size: 'nano' }, cifar),
    }).toEqual({
      gpt: 10_795_841,
      bert: 10_919_874,
      vit: 10_695_562,
      mlp: 1_923_082,
      resnet: 272_474,
      vgg: 1_437_226,
    });
  });
});
