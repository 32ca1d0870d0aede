/**
 * Size presets of the model families: `size: small | nano | paper` fills a model's config with
 * a preset's values; fields given explicitly override them (`{ name: gpt, size: nano, layers:
 * 4 }` is nano with four layers). The resolved config records `size` and every field, so a
 * run's spec.json reproduces it with or without the preset.
 *
 * - `small` (the default): the family's own defaults, sized to train on two cores.
 * - `nano`: GPT2-nano-like (6 layers, width 384, 6 heads: nanoGPT's character-level
 *   Shakespeare model) for the Transformers and the MLP; CIFAR-scale networks for the CNNs
 *   (ResNet-20 of He et al. 2016; a VGG with eight convolutions).
 * - `paper`: the shapes of Zhang et al. (2024): GPT2 (124M), BERT-base, ViT-base/16,
 *   ResNet18 and VGG16 (their ImageNet shapes given ImageNet-shaped data), for machines with a
 *   GPU. The paper has no plain MLP at scale; mlp's `paper` is four hidden layers of 1024.
 *
 * Parameter counts of every preset on the data they were documented for are computed from
 * shapes in parameter-count.ts and listed in the package README.
 */
import { TdxError, z } from '@tdx/core';

export const MODEL_SIZES = ['small', 'nano', 'paper'] as const;
export type ModelSize = (typeof MODEL_SIZES)[number];

/** Per size, the config fields it sets (small: none, the schema's defaults are small). */
export type SizePresets = Record<ModelSize, Record<string, unknown>>;

/** The `size` field every sized model config has. */
export const sizeField = z.enum(MODEL_SIZES).default('small');

/** A config schema with `size`: the object schema behind a preprocess that fills the preset. */
export type Sized<S extends z.ZodObject> = z.ZodPipe<
  z.ZodTransform<unknown, unknown>,
  z.ZodType<z.output<S> & { size: ModelSize }, z.input<S> & { size?: ModelSize | undefined }>
>;

/**
 * `schema` with a `size` field whose preset fills every field the input leaves out. Unknown
 * sizes are left for the enum to report (with the choices); non-object input is passed on.
 */
export function sized<S extends z.ZodObject>(schema: S, presets: SizePresets): Sized<S> {
  const schemaWithSize: z.ZodType = schema.safeExtend({
    /**
     * A size preset (`small`, `nano` or `paper`): fills the fields not given (see sizes.ts and
     * the package README for each preset's shape and parameter count).
     */
    size: sizeField,
  });
  return z.preprocess((raw) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
    const size = (raw as { size?: unknown }).size ?? 'small';
    const preset = presets[size as ModelSize];
    return preset === undefined ? raw : { ...preset, ...raw };
  }, schemaWithSize) as unknown as Sized<S>;
}

const sixBy384 = { layers: 6, width: 384, heads: 6 };

/** gpt: small = 2 layers, width 64, 4 heads; nano = nanoGPT's char model; paper = GPT-2 small. */
export const GPT_SIZES: SizePresets = {
  small: {},
  nano: { ...sixBy384 },
  paper: { layers: 12, width: 768, heads: 12, tiedHead: true },
};

/** bert: as gpt; paper = BERT-base (12 layers, width 768, 12 heads, tied decoder). */
export const BERT_SIZES: SizePresets = {
  small: {},
  nano: { ...sixBy384 },
  paper: { layers: 12, width: 768, heads: 12 },
};

/** vit: small = 2 layers, width 64, patch 7; nano = 6 × 384 on 4×4 patches; paper = ViT-base/16. */
export const VIT_SIZES: SizePresets = {
  small: {},
  nano: { ...sixBy384, patch: 4 },
  paper: { patch: 16, layers: 12, width: 768, heads: 12 },
};

/** mlp: small = [64, 64]; nano = six hidden layers of 384; paper = four of 1024 (chosen here). */
export const MLP_SIZES: SizePresets = {
  small: {},
  nano: { hidden: Array.from({ length: 6 }, () => 384) },
  paper: { hidden: [1024, 1024, 1024, 1024] },
};

/** resnet: small = width 8, one block per stage; nano = ResNet-20; paper = ResNet18. */
export const RESNET_SIZES: SizePresets = {
  small: {},
  nano: { width: 16, blocks: [3, 3, 3] },
  paper: { width: 64, blocks: [2, 2, 2, 2], stemKernel: 7, stemStride: 2, stemPool: true },
};

/** vgg: small = three conv-conv-pool stages (8, 16, 32); paper = VGG16 (configuration D). */
export const VGG_SIZES: SizePresets = {
  small: {},
  nano: {
    stages: [
      [32, 32],
      [64, 64],
      [128, 128],
      [256, 256],
    ],
    hidden: [256],
  },
  paper: {
    stages: [
      [64, 64],
      [128, 128],
      [256, 256, 256],
      [512, 512, 512],
      [512, 512, 512],
    ],
    hidden: [4096, 4096],
  },
};

/** The preset tables by model family. */
export const SIZE_PRESETS: Record<string, SizePresets> = {
  gpt: GPT_SIZES,
  bert: BERT_SIZES,
  vit: VIT_SIZES,
  mlp: MLP_SIZES,
  resnet: RESNET_SIZES,
  vgg: VGG_SIZES,
};

/** The preset of a family, with a message naming the families and sizes when there is none. */
export function sizePreset(family: string, size: ModelSize): Record<string, unknown> {
  const table = SIZE_PRESETS[family];
  if (!table)
    throw new TdxError('INVALID_ARGUMENT', `no size presets for model "${family}"`, {
      hint: `families with presets: ${Object.keys(SIZE_PRESETS).join(', ')}`,
    });
  return table[size];
}
