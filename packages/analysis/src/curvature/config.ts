/** Config pieces shared by the curvature analyses: SLQ settings, blocks, batches. */
import { TdxError, z } from '@tdx/core';

import { tf, type AnalysisTarget, type Batch } from '@tdx/tensor';
import { SLQ_PRESETS, type SlqSettings } from '../spectral/slq.js';
import type { BlockSelection } from './operators.js';

const selector = z.strictObject({
  role: z.union([z.string(), z.array(z.string())]).optional(),
  layer: z.union([z.number().int(), z.array(z.number().int())]).optional(),
  name: z.union([z.string(), z.array(z.string())]).optional(),
});

/** SLQ: a preset, and any of its settings overridden. */
export const slqConfig = {
  preset: z.enum(['tdx', 'pyhessian', 'zhang2024', 'eigenthings']).default('tdx'),
  probes: z.number().int().positive().optional(),
  steps: z.number().int().positive().optional(),
  start: z.enum(['gaussian', 'rademacher']).optional(),
  reorthogonalize: z.boolean().optional(),
  sigma: z
    .number()
    .positive()
    .optional()
    .describe("A fixed Gaussian width instead of the preset's rule."),
  gridPoints: z.number().int().min(10).optional(),
};

/**
 * Spectra divided by their k-th largest eigenvalue (Zhang et al. 2024 draw theirs divided by
 * the 10th), estimated from the Ritz values; absent: spectra as measured.
 */
export const normalizeConfig = {
  normalize: z
    .strictObject({
      kth: z
        .number()
        .int()
        .positive()
        .describe('Divide each spectrum by its k-th largest eigenvalue (10 in Zhang et al.).'),
    })
    .optional()
    .describe(
      "Each spectrum divided by its own k-th largest eigenvalue, estimated from the Ritz values (each probe's k-th largest node, averaged): spectra of different scales on one axis.",
    ),
};

export const blocksConfig = {
  blocks: z
    .union([z.literal('each'), z.array(selector).min(1)])
    .default('each')
    .describe(
      '`each` trainable tensor, or a list of selectors ({ role, layer, name }), each one block.',
    ),
  exclude: z
    .array(z.string())
    .default(['bias', 'norm'])
    .describe(
      'Roles left out of `each` (Zhang et al. analyse weight matrices, not biases or norms).',
    ),
  split: z
    .enum(['none', 'rows', 'columns', 'heads'])
    .default('none')
    .describe('Cut each tensor further: per row, per column, or per head (columns grouped).'),
  heads: z.number().int().positive().optional(),
};

export const batchesConfig = {
  batches: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe(
      'Batches the Hessian is averaged over: the evaluation batch, then reserved extra batches.',
    ),
  aggregate: z
    .enum(['mean', 'sum'])
    .default('mean')
    .describe(
      "`mean` averages the batches' Hessians; `sum` adds them, as Zhang et al.'s code does.",
    ),
  examples: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      'Only the first this many examples of each batch (default: all): cheaper Hessian-vector products when the evaluation batch is larger than the curvature needs.',
    ),
};

export function slqSettings(config: {
  preset: keyof typeof SLQ_PRESETS;
  probes?: number | undefined;
  steps?: number | undefined;
  start?: 'gaussian' | 'rademacher' | undefined;
  reorthogonalize?: boolean | undefined;
  sigma?: number | undefined;
  gridPoints?: number | undefined;
}): SlqSettings {
  const preset = SLQ_PRESETS[config.preset];
  return {
    probes: config.probes ?? preset.probes,
    steps: config.steps ?? preset.steps,
    start: config.start ?? preset.start,
    reorthogonalize: config.reorthogonalize ?? preset.reorthogonalize,
    broadening:
      config.sigma !== undefined ? { rule: 'fixed', sigma: config.sigma } : preset.broadening,
    grid: { ...preset.grid, points: config.gridPoints ?? preset.grid.points },
  };
}

export function blockSelection(config: {
  blocks: 'each' | Array<Record<string, unknown>>;
  exclude: string[];
  split: 'none' | 'rows' | 'columns' | 'heads';
  heads?: number | undefined;
}): BlockSelection {
  if (config.split === 'heads' && config.heads === undefined) {
    throw new TdxError('INVALID_ARGUMENT', 'split: heads needs heads: <number of heads>');
  }
  return {
    select: config.blocks as BlockSelection['select'],
    exclude: config.exclude,
    split:
      config.split === 'heads' ? { split: 'heads', heads: config.heads! } : { split: config.split },
  };
}

/**
 * The batches of an analysis: the evaluation batch, then the dataset's batches -1, -2, ...: a
 * stream training never draws from, so the same batches are used at every step. Call
 * `release` when done.
 */
export function analysisBatches(
  target: AnalysisTarget,
  count: number,
  examples?: number,
): { batches: Batch[]; release: () => void } {
  const extra = Array.from({ length: count - 1 }, (_, k) => target.dataset.batch(-1 - k));
  const all = [target.analysisBatch(), ...extra];
  const first = (x: tf.Tensor) => tf.slice(x, 0, Math.min(examples ?? x.shape[0]!, x.shape[0]!));
  const cut =
    examples === undefined
      ? []
      : all.map((b) => ({ inputs: first(b.inputs), targets: first(b.targets) }));
  return {
    batches: examples === undefined ? all : cut,
    release: () => {
      for (const b of [...extra, ...cut]) tf.dispose([b.inputs, b.targets]);
    },
  };
}
