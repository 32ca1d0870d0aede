/** The config every attention model shares (gpt, vit), and the check it needs. */
import { pluginRef, z } from '@tdx/core';

export const transformerFields = {
  /** The attention-kernel plugin: a name, or `{ name, ...config }` (default softmax). */
  attention: pluginRef('attention-kernel', 'softmax'),

  layers: z.number().int().positive().default(2),
  width: z.number().int().positive().default(64),
  heads: z.number().int().positive().default(4),
  mlpRatio: z.number().int().positive().default(4),
  /** Standard deviation of the normal initialisation of every weight (GPT-2: 0.02). */
  initStd: z.number().positive().default(0.02),
};

/** Heads split the width evenly; as arguments of zod's refine. */
export const headsDivideWidth: [
  (c: { width: number; heads: number }) => boolean,
  { message: string; path: string[] },
] = [
  (c) => c.width % c.heads === 0,
  { message: 'width must be a multiple of heads', path: ['heads'] },
];
