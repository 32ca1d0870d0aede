/**
 * Parameter counts of every model family at any size, from shapes alone (nothing allocated),
 * so that the `paper` presets (GPT-2, BERT-base, ViT-base, VGG16: 86M to 138M parameters) are
 * counted on a laptop. The shapes of gpt, vit and bert are listed here from their definitions
 * (transformer-block.ts, gpt.ts, vit.ts, bert.ts); tests check that they equal the blocks of
 * built models, name by name.
 */
import { TdxError } from '@tdx/core';
import type { DatasetInfo } from '@tdx/tensor';
import { bertConfig, maskedLanguageModellingShape } from './bert.js';
import { languageModellingShape } from './gpt.js';
import { countParameters } from './parameter-shapes.js';
import { resnetConfig, resnetShapes } from './resnet.js';
import { sizedGptConfig, sizedMlpConfig, sizedVitConfig } from './sized-models.js';
import { imageClassificationShape } from './tasks.js';
import { blockShape } from './transformer-config.js';
import type { BlockShape } from './transformer-block.js';
import { vggConfig, vggShapes } from './vgg.js';

export interface NamedShape {
  name: string;
  shape: number[];
}

/** The blocks of one Transformer block (transformerBlockParams), by shape. */
export function transformerBlockShapes(layer: number, s: BlockShape): NamedShape[] {
  const { width: D, mlpWidth: N } = s;
  const inner = s.heads * s.headDim;
  const p = `layers.${layer}`;
  const standard = s.parameterization === 'standard';
  const w = (name: string, rows: number, cols: number): NamedShape[] => [
    { name, shape: [rows, cols] },
    ...(standard ? [{ name: `${name}.bias`, shape: [cols] }] : []),
  ];
  return [
    { name: `${p}.norm1.gain`, shape: [D] },
    { name: `${p}.norm1.bias`, shape: [D] },
    ...w(`${p}.attn.query`, D, inner),
    ...w(`${p}.attn.key`, D, inner),
    ...w(`${p}.attn.value`, D, inner),
    ...w(`${p}.attn.output`, inner, D),
    { name: `${p}.norm2.gain`, shape: [D] },
    { name: `${p}.norm2.bias`, shape: [D] },
    { name: `${p}.mlp.in`, shape: [D, N] },
    { name: `${p}.mlp.in.bias`, shape: [N] },
    { name: `${p}.mlp.out`, shape: [N, D] },
    ...(standard ? [{ name: `${p}.mlp.out.bias`, shape: [D] }] : []),
  ];
}

const blocks = (layers: number, s: BlockShape) =>
  Array.from({ length: layers }, (_, l) => transformerBlockShapes(l, s)).flat();

/**
 * The parameter blocks `family` would have with `config` (raw, as in a spec: `size` presets
 * apply) on data described by `info`, in the model's order.
 */
export function parameterShapes(
  family: string,
  config: Record<string, unknown>,
  info: DatasetInfo,
): NamedShape[] {
  switch (family) {
    case 'gpt': {
      const c = sizedGptConfig.parse(config);
      const { length, vocabulary: V } = languageModellingShape(info, 'gpt');
      const D = c.width;
      return [
        { name: 'embed.token', shape: [V, D] },
        { name: 'embed.position', shape: [c.maxLength ?? length, D] },
        ...blocks(c.layers, blockShape(c)),
        { name: 'norm.gain', shape: [D] },
        { name: 'norm.bias', shape: [D] },
        ...(c.tiedHead
          ? []
          : [
              { name: 'head', shape: [D, V] },
              { name: 'head.bias', shape: [V] },
            ]),
      ];
    }
    case 'bert': {
      const c = bertConfig.parse(config);
      const { length, vocabulary: V } = maskedLanguageModellingShape(info, 'bert');
      const D = c.width;
      return [
        { name: 'embed.token', shape: [V, D] },
        { name: 'embed.position', shape: [c.maxLength ?? length, D] },
        { name: 'embed.norm.gain', shape: [D] },
        { name: 'embed.norm.bias', shape: [D] },
        ...blocks(c.layers, blockShape(c)),
        { name: 'head.transform', shape: [D, D] },
        { name: 'head.transform.bias', shape: [D] },
        { name: 'head.norm.gain', shape: [D] },
        { name: 'head.norm.bias', shape: [D] },
        ...(c.tiedHead ? [] : [{ name: 'head.decoder', shape: [D, V] }]),
        { name: 'head.decoder.bias', shape: [V] },
      ];
    }
    case 'vit': {
      const c = sizedVitConfig.parse(config);
      const { height, width, channels, classes } = imageClassificationShape(info, 'vit');
      const D = c.width;
      const patches = Math.floor(height / c.patch) * Math.floor(width / c.patch);
      return [
        { name: 'embed.patch', shape: [c.patch * c.patch * channels, D] },
        { name: 'embed.patch.bias', shape: [D] },
        { name: 'embed.class', shape: [1, 1, D] },
        { name: 'embed.position', shape: [patches + 1, D] },
        ...blocks(c.layers, blockShape(c)),
        { name: 'norm.gain', shape: [D] },
        { name: 'norm.bias', shape: [D] },
        { name: 'head', shape: [D, classes] },
        { name: 'head.bias', shape: [classes] },
      ];
    }
    case 'mlp': {
      const c = sizedMlpConfig.parse(config);
      const inputs = info.inputShape.reduce((a, b) => a * b, 1);
      const classes = typeof info.meta.classes === 'number' ? info.meta.classes : undefined;
      const outputs =
        classes ??
        Math.max(
          1,
          info.targetShape.reduce((a, b) => a * b, 1),
        );
      const sizes = [inputs, ...c.hidden, outputs];
      return sizes.slice(1).flatMap((out, i) => {
        const name = i === sizes.length - 2 ? 'head' : `layers.${i}`;
        return [
          { name: `${name}.weight`, shape: [sizes[i]!, out] },
          { name: `${name}.bias`, shape: [out] },
        ];
      });
    }
    case 'resnet':
      return resnetShapes(resnetConfig.parse(config), info);
    case 'vgg':
      return vggShapes(vggConfig.parse(config), info);
    default:
      throw new TdxError('INVALID_ARGUMENT', `no parameter shapes for model "${family}"`, {
        hint: 'families: gpt, bert, vit, mlp, resnet, vgg',
      });
  }
}

/** Number of parameters of `family` with `config` on data described by `info`. */
export function parameterCount(
  family: string,
  config: Record<string, unknown>,
  info: DatasetInfo,
): number {
  return countParameters(parameterShapes(family, config, info));
}
