/**
 * The Hessian's spectral density by SLQ: of the full Hessian, of each block's principal
 * sub-matrix H_bb, or both. Results carry the quadrature nodes and weights of every probe, the
 * density on its grid and the settings used. The headline value is the largest Ritz value.
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
import { blockOperators, hessianOperator, type CurvatureOperator } from '../curvature/operators.js';
import { densityPoints, storeDensity, type StoredDensity } from '../curvature/stored-density.js';
import { slqParts } from '../curvature/slq-parts.js';
import { densityGrid, densityOnGrid, type Quadrature } from '../spectral/slq.js';
import { normalizeByKth, type KthNormalization } from '../spectral/kth-normalization.js';

export const hessianSpectrumConfig = z
  .object({
    ...slqConfig,
    ...batchesConfig,
    scope: z
      .enum(['full', 'blocks', 'both'])
      .default('full')
      .describe("`full`: the whole Hessian; `blocks`: each block's H_bb; `both`."),
    ...blocksConfig,
    ...normalizeConfig,
  })
  .refine((c) => c.split !== 'heads' || c.heads !== undefined, {
    message: 'split: heads needs heads: <number of heads>',
    path: ['heads'],
  });

export type HessianSpectrumConfig = z.output<typeof hessianSpectrumConfig>;

export interface StoredSpectrum extends StoredDensity {
  name: string;
  dimension: number;
  /** As measured: Ritz values in the Hessian's own units. */
  quadratures: Quadrature[];
  /** With `normalize`: the λ_k the density's axis is divided by. */
  normalization?: KthNormalization;
}

export function spectrumOperators(
  target: AnalysisTarget,
  config: HessianSpectrumConfig,
  batches: Parameters<typeof hessianOperator>[2],
): CurvatureOperator[] {
  const ops: CurvatureOperator[] = [];
  if (config.scope !== 'blocks')
    ops.push(
      hessianOperator(target.lossOn, target.params, batches, {
        aggregate: config.aggregate,
        name: 'H',
      }),
    );
  if (config.scope !== 'full')
    ops.push(
      ...blockOperators(
        target.lossOn,
        target.params,
        batches,
        blockSelection(config),
        config.aggregate,
      ),
    );
  return ops;
}

/** The SLQ work of operator i is its probes, with seeds from seed + i; parts may run elsewhere. */
export function hessianSpectrumParts(config: HessianSpectrumConfig) {
  const settings = slqSettings(config);
  return slqParts({
    settings,
    batches: config.batches,
    examples: config.examples,
    operators: (target, batches) => spectrumOperators(target, config, batches),
    combine: (_target, operators) => {
      // Each operator on its own grid: the full Hessian's and a block's ranges differ widely.
      const spectra: StoredSpectrum[] = operators.map((op) => {
        const scaled = config.normalize
          ? normalizeByKth(op.quadratures, config.normalize.kth, op.name)
          : undefined;
        const drawn = scaled?.quadratures ?? op.quadratures;
        const { grid, sigma } = densityGrid(drawn, settings);
        return {
          name: op.name,
          dimension: op.dimension,
          quadratures: op.quadratures,
          ...(scaled ? { normalization: scaled.normalization } : {}),
          ...storeDensity(grid, densityOnGrid(drawn, grid, sigma), sigma),
        };
      });
      const top = Math.max(...spectra[0]!.quadratures.map((q) => Math.max(...q.nodes)));
      return {
        value: top,
        data: {
          settings,
          batches: config.batches,
          aggregate: config.aggregate,
          ...(config.normalize ? { normalize: config.normalize } : {}),
          spectra,
        },
      };
    },
  });
}

export function hessianSpectrum(
  target: AnalysisTarget,
  config: HessianSpectrumConfig,
  seed: number,
): AnalysisOutput & { value: number } {
  return hessianSpectrumParts(config).run(target, { step: target.step, seed }) as AnalysisOutput & {
    value: number;
  };
}

/** `eigenvalue`, or `eigenvalue / λ_10` for spectra normalised by their 10th largest. */
export function axisLabel(normalize: unknown): string {
  const kth = (normalize as { kth?: number } | undefined)?.kth;
  return kth === undefined ? 'eigenvalue' : `eigenvalue / λ_${kth}`;
}

/** The densities at the last step each run evaluated, one figure per run. */
export function spectrumFigures(
  runs: Parameters<NonNullable<AnalysisInstance['figures']>>[0],
): FigureSpec[] {
  return runs.flatMap(({ run, file }) => {
    const last = file.records.at(-1);
    const spectra = (last?.spectra as StoredSpectrum[] | undefined) ?? [];
    if (!last || spectra.length === 0) return [];
    return [
      {
        kind: 'density' as const,
        id: `${file.label}-${run.label}`,
        title: `Hessian spectrum, ${run.label}, step ${last.step}`,
        caption: `SLQ density (log scale) of ${spectra.length === 1 ? spectra[0]!.name : `${spectra.length} blocks`}: ${(last.settings as { probes: number; steps: number }).probes} probes of ${(last.settings as { steps: number }).steps} Lanczos steps, Gaussian width ${spectra[0]!.sigma.toPrecision(3)}${last.normalize ? `; each spectrum divided by its own ${axisLabel(last.normalize).split(' / ')[1]}` : ''}.`,
        x: { label: axisLabel(last.normalize) },
        y: { label: 'density', log: true },
        series: spectra.map((s) => ({
          name: s.name,
          points: densityPoints(s).filter((p) => p.y > 1e-12),
        })),
      },
    ];
  });
}

export const hessianSpectrumPlugin = definePlugin({
  kind: 'analysis',
  name: 'hessian-spectrum',
  title: 'Hessian spectrum',
  description:
    'spectral density of the Hessian (or of each block H_bb) by stochastic Lanczos quadrature',
  config: hessianSpectrumConfig,
  create: (config): AnalysisInstance => {
    const { run, parallel } = hessianSpectrumParts(config);
    return {
      run: (target, ctx) => run(target, ctx),
      parallel,
      figures: spectrumFigures,
    };
  },
});
