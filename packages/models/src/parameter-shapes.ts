/**
 * Parameter blocks described by shape, before anything is allocated: the new model families
 * (resnet, vgg, bert) build their ParamSet from these lists, and parameter counts of presets
 * too large to build here (GPT-2, BERT-base, ViT-base, VGG16) are sums over them.
 */
import type { ParamBlockSpec, Rng } from '@tdx/tensor';
import { type BlockInit, constantInit, normalInit } from './layers.js';

export type ParameterInit = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };

export interface ParameterShape extends ParamBlockSpec {
  shape: number[];
  init: ParameterInit;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Total number of parameters. */
export function countParameters(shapes: ReadonlyArray<{ shape: readonly number[] }>): number {
  return shapes.reduce((n, s) => n + sizeOf(s.shape), 0);
}

/** Initial values of every block, drawn from `rng` in list order (normal blocks only draw). */
export function initBlocks(shapes: readonly ParameterShape[], rng: Rng): BlockInit[] {
  return shapes.map(({ shape, init, ...spec }) => ({
    ...spec,
    init:
      init.kind === 'normal'
        ? normalInit(rng, shape, init.std)
        : constantInit(shape, init.kind === 'ones' ? 1 : 0),
  }));
}
