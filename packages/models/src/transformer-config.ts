/** The config every attention model shares (gpt, vit, text-transformer), and its checks. */
import { pluginRef, z } from '@tdx/core';
import type { BlockShape } from './transformer-block.js';

export const transformerFields = {
  attention: pluginRef('attention-kernel', 'softmax').describe(
    'The attention-kernel plugin: a name, or `{ name, ...config }` (default softmax).',
  ),
  layers: z.number().int().positive().default(2),
  width: z.number().int().positive().default(64),
  heads: z.number().int().positive().default(4),
  headDim: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Each head's width p; default width / heads (then heads must divide width)."),
  mlpRatio: z.number().int().positive().default(4),
  mlpWidth: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("The MLP's hidden width (neurons); default mlpRatio · width."),
  initStd: z
    .number()
    .positive()
    .default(0.02)
    .describe('Standard deviation of the normal initialisation of every weight (GPT-2: 0.02).'),
  parameterization: z
    .enum(['standard', 'mean-field'])
    .default('standard')
    .describe(
      '`standard`, or `mean-field`: each sublayer (α / (L·M)) Σ_j f(H; θ_j) over its M heads or neurons, per-unit learning-rate multiplier L·M, no projection biases (see transformer-block.ts).',
    ),
  alpha: z.number().positive().default(1).describe('α of the mean-field scaling.'),
};

type TransformerConfig = {
  width: number;
  heads: number;
  headDim?: number | undefined;
  mlpRatio: number;
  mlpWidth?: number | undefined;
  layers: number;
  parameterization: 'standard' | 'mean-field';
  alpha: number;
};

/** Heads split the width evenly unless each head's width is given; as arguments of zod's refine. */
export const headsDivideWidth: [
  (c: { width: number; heads: number; headDim?: number | undefined }) => boolean,
  { message: string; path: string[] },
] = [
  (c) => c.headDim !== undefined || c.width % c.heads === 0,
  { message: 'width must be a multiple of heads (or give headDim)', path: ['heads'] },
];

/** The block shape a config describes. */
export function blockShape(config: TransformerConfig): BlockShape {
  return {
    width: config.width,
    heads: config.heads,
    headDim: config.headDim ?? config.width / config.heads,
    mlpWidth: config.mlpWidth ?? config.mlpRatio * config.width,
    parameterization: config.parameterization,
    layers: config.layers,
    alpha: config.alpha,
  };
}
