/**
 * Block heterogeneity (Zhang et al. 2024): the spectral density of every block's H_bb on one
 * common grid, the Jensen–Shannon divergence between every pair, and JS⁰, their mean (the
 * headline value). Probability-mass JS by default (bounded by ln 2, grid-independent); the
 * paper's raw-density variant as `mode: raw-density`.
 */
import {
  definePlugin,
  z,
  type AnalysisInstance,
  type AnalysisOutput,
  type FigureSpec,
} from '@tdx/core';
import type { AnalysisTarget } from '@tdx/tensor';
import {
  batchesConfig,
  blockSelection,
  blocksConfig,
  normalizeConfig,
  slqConfig,
  slqSettings,
} from '../curvature/config.js';
import { blockOperators } from '../curvature/operators.js';
import { densityPoints, storeDensity, type StoredDensity } from '../curvature/stored-density.js';
import { jensenShannonMatrix } from '../spectral/jensen-shannon.js';
import { slqParts } from '../curvature/slq-parts.js';
import { densityGrid, densityOnGrid, type Quadrature } from '../spectral/slq.js';
import { normalizeByKth, type KthNormalization } from '../spectral/kth-normalization.js';
import { axisLabel } from './hessian-spectrum.js';

export const blockHeterogeneityConfig = z
  .object({
    ...slqConfig,
    ...batchesConfig,
    ...blocksConfig,
    mode: z.enum(['probability', 'raw-density']).default('probability'),
    ...normalizeConfig,
  })
  .refine((c) => c.split !== 'heads' || c.heads !== undefined, {
    message: 'split: heads needs heads: <number of heads>',
    path: ['heads'],
  });

export type BlockHeterogeneityConfig = z.output<typeof blockHeterogeneityConfig>;

/** The SLQ work of block i is its probes, with seeds from seed + i; parts may run elsewhere. */
export function blockHeterogeneityParts(config: BlockHeterogeneityConfig) {
  const settings = slqSettings(config);
  return slqParts({
    settings,
    batches: config.batches,
    examples: config.examples,
    operators: (target, batches) =>
      blockOperators(
        target.lossOn,
        target.params,
        batches,
        blockSelection(config),
        config.aggregate,
      ),
    combine: (_target, blocks) => {
      // With `normalize`, each block divided by its own λ_k first: JS then compares shapes only.
      const scaled = blocks.map((b) =>
        config.normalize ? normalizeByKth(b.quadratures, config.normalize.kth, b.name) : undefined,
      );
      const drawn = blocks.map((b, i) => scaled[i]?.quadratures ?? b.quadratures);
      // One grid and one width for all blocks, so the densities are comparable point by point.
      const { grid, sigma } = densityGrid(drawn, settings);
      const densities = drawn.map((q) => densityOnGrid(q, grid, sigma));
      const { matrix, mean } = jensenShannonMatrix(densities, config.mode);
      return {
        value: mean,
        data: {
          js0: mean,
          mode: config.mode,
          ...(config.normalize ? { normalize: config.normalize } : {}),
          names: blocks.map((b) => b.name),
          matrix,
          settings,
          blocks: blocks.map((b, i) => ({
            name: b.name,
            dimension: b.dimension,
            quadratures: b.quadratures,
            ...(scaled[i] ? { normalization: scaled[i].normalization } : {}),
            ...storeDensity(grid, densities[i]!, sigma),
          })),
        },
      };
    },
  });
}

export function blockHeterogeneity(
  target: AnalysisTarget,
  config: BlockHeterogeneityConfig,
  seed: number,
): AnalysisOutput & { value: number } {
  return blockHeterogeneityParts(config).run(target, {
    step: target.step,
    seed,
  }) as AnalysisOutput & {
    value: number;
  };
}

interface StoredBlock extends StoredDensity {
  name: string;
  dimension: number;
  quadratures: Quadrature[];
  normalization?: KthNormalization;
}

export function heterogeneityFigures(
  runs: Parameters<NonNullable<AnalysisInstance['figures']>>[0],
): FigureSpec[] {
  const figures: FigureSpec[] = [];
  // At the first and the last step measured: at initialisation and after training, typically.
  for (const { run, file } of runs) {
    const ends = [...new Set([file.records[0], file.records.at(-1)])];
    for (const last of ends) {
      if (!last?.matrix) continue;
      const names = last.names as string[];
      figures.push({
        kind: 'heatmap',
        id: `${file.label}-${run.label}-js-step${last.step}`,
        title: `Jensen–Shannon divergence between blocks, ${run.label}, step ${last.step}`,
        caption: `Between the blocks' Hessian spectral densities (${String(last.mode)} mode, in nats; ln 2 ≈ 0.693 is the largest possible in probability mode). JS⁰ = ${Number(last.js0).toPrecision(4)}.`,
        rows: names,
        columns: names,
        values: last.matrix as number[][],
        colorLabel: 'JS',
      });
      figures.push({
        kind: 'density',
        id: `${file.label}-${run.label}-densities-step${last.step}`,
        title: `Blockwise Hessian spectra, ${run.label}, step ${last.step}`,
        caption: `Spectral density of each block’s principal sub-matrix H_bb, on a common grid (log scale)${last.normalize ? `, each block divided by its own ${axisLabel(last.normalize).split(' / ')[1]}` : ''}.`,
        x: { label: axisLabel(last.normalize) },
        y: { label: 'density', log: true },
        series: (last.blocks as StoredBlock[]).map((b) => ({
          name: b.name,
          points: densityPoints(b).filter((p) => p.y > 1e-12),
        })),
      });
    }
  }
  const withValues = runs.filter(({ file }) => file.records.length > 1);
  if (withValues.length > 0) {
    figures.push({
      kind: 'lines',
      id: `${runs[0]!.file.label}-js0`,
      title: 'JS⁰ over training',
      caption:
        'Mean Jensen–Shannon divergence over all pairs of blocks, at each step it was measured.',
      x: { label: 'step' },
      y: { label: 'JS⁰' },
      series: withValues.map(({ run, file }) => ({
        name: run.label,
        points: file.records.map((r) => ({ x: r.step, y: r.value as number })),
      })),
    });
  }
  return figures;
}

export const blockHeterogeneityPlugin = definePlugin({
  kind: 'analysis',
  name: 'block-heterogeneity',
  title: 'block heterogeneity JS⁰',
  description:
    'Jensen–Shannon divergence between the Hessian spectra of parameter blocks, and JS⁰ (Zhang et al. 2024)',
  config: blockHeterogeneityConfig,
  create: (config): AnalysisInstance => {
    const { run, parallel } = blockHeterogeneityParts(config);
    return {
      run: (target, ctx) => run(target, ctx),
      parallel,
      figures: heterogeneityFigures,
    };
  },
});
