/**
 * The `spectrum-distance` reporter: how far apart the Hessian spectra of different models are
 * (Zhang et al. 2024, Fig. 1: a CNN's and a Transformer's full spectra look alike while their
 * blocks do not). From the `hessian-spectrum` analysis of each run at one step (`scope: both`),
 * for every pair of models and every seed both have:
 * - full: the Jensen–Shannon divergence between the two models' full-Hessian densities;
 * - blocks: the mean JS over every pair (block of one model, block of the other), and each
 *   model's own JS⁰ (the mean over pairs of its own blocks), all on one grid;
 * means over seeds. Spectra are compared as the analysis stored them (normalised by their k-th
 * largest eigenvalue when it was asked to), or as this reporter's `normalize` says. Densities
 * are rebuilt from the stored quadratures on a grid common to what is compared, with the
 * analysis's SLQ settings. Writes `spectrum-distance.json`; adds a section with a table and
 * the full spectra of every model on one axis. Does nothing with fewer than two models.
 */
import { join } from 'node:path';
import {
  definePlugin,
  writeTextAtomic,
  z,
  type ExperimentData,
  type FigureSpec,
  type ReportSection,
  type ReporterInstance,
  type RunData,
} from '@tdx/core';
import { jensenShannon, jensenShannonMatrix } from '../spectral/jensen-shannon.js';
import { normalizeByKth } from '../spectral/kth-normalization.js';
import { densityGrid, densityOnGrid, type Quadrature, type SlqSettings } from '../spectral/slq.js';

export const spectrumDistanceConfig = z.object({
  analysis: z
    .string()
    .min(1)
    .default('hessian-spectrum')
    .describe('Label of the hessian-spectrum analysis (scope: both) whose spectra are compared.'),
  step: z.number().int().nonnegative().default(0).describe('The step whose spectra are compared.'),
  mode: z
    .enum(['probability', 'raw-density'])
    .default('probability')
    .describe('Jensen–Shannon on probability masses (bounded by ln 2) or on raw densities.'),
  normalize: z
    .union([z.literal(false), z.strictObject({ kth: z.number().int().positive() })])
    .optional()
    .describe(
      'Absent: the spectra as the analysis normalised them (or not); false: as measured; { kth }: each divided by its own k-th largest Ritz value here.',
    ),
  sigmas: z
    .array(z.number().positive())
    .min(1)
    .optional()
    .describe(
      "Fixed Gaussian widths (on the compared axis) to rebuild the densities with, one comparison each: JS between SLQ densities depends on the width, and one width for full and block spectra makes them comparable. Absent: the analysis's own broadening rule.",
    ),
});

export type SpectrumDistanceConfig = z.output<typeof spectrumDistanceConfig>;

interface Spectrum {
  name: string;
  quadratures: Quadrature[];
}

interface ModelSpectra {
  full: Spectrum;
  blocks: Spectrum[];
}

export interface PairDistance {
  models: [string, string];
  /** The fixed width used, or undefined for the analysis's own rule. */
  sigma?: number;
  seeds: number[];
  /** JS between the full-Hessian densities, mean over seeds (and each seed's). */
  full: number;
  fullBySeed: number[];
  /** Mean JS over (block of the first, block of the second), mean over seeds. */
  acrossBlocks: number;
  /** Each model's own JS⁰ on the same grid, mean over seeds. */
  within: [number, number];
}

export interface SpectrumDistance {
  analysis: string;
  step: number;
  mode: SpectrumDistanceConfig['mode'];
  /** `by the 10th largest eigenvalue`, or `as measured`. */
  normalization: string;
  /** The k of that eigenvalue, when normalised. */
  kth?: number;
  /** One per pair of models and width. */
  pairs: PairDistance[];
  /** Each model's full density (first seed) on one grid, for the figure. */
  full: {
    grid: { start: number; step: number; points: number };
    densities: Record<string, number[]>;
  };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The stored spectra of a run at `step`, as this reporter compares them. */
function spectraOf(
  run: RunData,
  config: SpectrumDistanceConfig,
): { spectra: ModelSpectra; settings: SlqSettings; kth?: number } | undefined {
  const record = run.analyses[config.analysis]?.records.find((r) => r.step === config.step);
  const stored = record?.spectra as
    Array<Spectrum & { normalization?: { kth: number; by: number } }> | undefined;
  if (!record || !stored) return undefined;
  const full = stored.find((s) => s.name === 'H');
  const blocks = stored.filter((s) => s.name !== 'H');
  if (!full || blocks.length === 0) return undefined;
  const kth =
    config.normalize === undefined
      ? (record.normalize as { kth?: number } | undefined)?.kth
      : config.normalize === false
        ? undefined
        : config.normalize.kth;
  const scaled = (s: Spectrum): Spectrum => ({
    name: s.name,
    quadratures:
      kth === undefined ? s.quadratures : normalizeByKth(s.quadratures, kth, s.name).quadratures,
  });
  return {
    spectra: { full: scaled(full), blocks: blocks.map(scaled) },
    settings: record.settings as SlqSettings,
    ...(kth === undefined ? {} : { kth }),
  };
}

/** Densities of groups of quadratures on one grid spanning them all. */
function onOneGrid(groups: Quadrature[][], settings: SlqSettings) {
  const { grid, sigma } = densityGrid(groups, settings);
  return { grid, densities: groups.map((q) => densityOnGrid(q, grid, sigma)) };
}

/** The comparison, or undefined when fewer than two models have full and block spectra. */
export function spectrumDistance(
  data: ExperimentData,
  config: SpectrumDistanceConfig,
): SpectrumDistance | undefined {
  // One run per (model, seed): the state at a step before training differs only by those.
  const byModel = new Map<string, Map<number, ReturnType<typeof spectraOf> & object>>();
  for (const run of data.runs) {
    const found = spectraOf(run, config);
    if (!found) continue;
    const seeds = byModel.get(run.model) ?? new Map();
    if (!seeds.has(run.seed)) seeds.set(run.seed, found);
    byModel.set(run.model, seeds);
  }
  const models = [...byModel.keys()];
  if (models.length < 2) return undefined;
  const pairs: PairDistance[] = [];
  const widths: Array<number | undefined> = config.sigmas ?? [undefined];
  const withWidth = (settings: SlqSettings, sigma: number | undefined): SlqSettings =>
    sigma === undefined
      ? settings
      : {
          ...settings,
          broadening: { rule: 'fixed', sigma },
          // Room for the Gaussians' tails: a grid cut within a few σ of the extreme nodes
          // flattens wide densities and understates JS.
          grid: { ...settings.grid, padding: { kind: 'absolute', value: 5 * sigma } },
        };
  for (const sigma of widths)
    for (let i = 0; i < models.length; i++)
      for (let j = i + 1; j < models.length; j++) {
        const [a, b] = [byModel.get(models[i]!)!, byModel.get(models[j]!)!];
        const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
        if (seeds.length === 0) continue;
        const fullBySeed: number[] = [];
        const across: number[] = [];
        const withinA: number[] = [];
        const withinB: number[] = [];
        for (const seed of seeds) {
          const [x, y] = [a.get(seed)!, b.get(seed)!];
          const settings = withWidth(x.settings, sigma);
          const full = onOneGrid(
            [x.spectra.full.quadratures, y.spectra.full.quadratures],
            settings,
          );
          fullBySeed.push(jensenShannon(full.densities[0]!, full.densities[1]!, config.mode));
          // Every block of both models on one grid: across- and within-model JS are comparable.
          const nx = x.spectra.blocks.length;
          const blocks = onOneGrid(
            [...x.spectra.blocks, ...y.spectra.blocks].map((s) => s.quadratures),
            settings,
          );
          const { matrix } = jensenShannonMatrix(blocks.densities, config.mode);
          const cross: number[] = [];
          for (let p = 0; p < nx; p++)
            for (let q = nx; q < matrix.length; q++) cross.push(matrix[p]![q]!);
          across.push(mean(cross));
          const within = (from: number, to: number) => {
            const values: number[] = [];
            for (let p = from; p < to; p++)
              for (let q = p + 1; q < to; q++) values.push(matrix[p]![q]!);
            return values.length > 0 ? mean(values) : 0;
          };
          withinA.push(within(0, nx));
          withinB.push(within(nx, matrix.length));
        }
        pairs.push({
          models: [models[i]!, models[j]!],
          ...(sigma === undefined ? {} : { sigma }),
          seeds,
          full: mean(fullBySeed),
          fullBySeed,
          acrossBlocks: mean(across),
          within: [mean(withinA), mean(withinB)],
        });
      }
  if (pairs.length === 0) return undefined;
  // The figure: each model's first seed, every full spectrum on one grid.
  const firsts = models.map(
    (m) => [...byModel.get(m)!.entries()].sort((p, q) => p[0] - q[0])[0]![1],
  );
  const full = onOneGrid(
    firsts.map((f) => f.spectra.full.quadratures),
    firsts[0]!.settings,
  );
  const kth = firsts[0]!.kth;
  return {
    analysis: config.analysis,
    step: config.step,
    mode: config.mode,
    normalization: kth === undefined ? 'as measured' : `by the ${kth}th largest eigenvalue`,
    ...(kth === undefined ? {} : { kth }),
    pairs,
    full: {
      grid: { start: full.grid[0]!, step: full.grid[1]! - full.grid[0]!, points: full.grid.length },
      densities: Object.fromEntries(
        models.map((m, i) => [m, Array.from(full.densities[i]!, (v) => Number(v.toPrecision(6)))]),
      ),
    },
  };
}

export function spectrumDistanceSection(summary: SpectrumDistance): ReportSection {
  const { grid } = summary.full;
  const stride = Math.max(1, Math.ceil(grid.points / 600));
  const figure: FigureSpec = {
    kind: 'density',
    id: `spectrum-distance-full-step${summary.step}`,
    title: `Full-Hessian spectra of every model, step ${summary.step}`,
    caption: `SLQ densities of the whole Hessian (log scale), one per model (its first seed), on one grid, spectra ${summary.normalization}.`,
    x: { label: summary.kth === undefined ? 'eigenvalue' : `eigenvalue / λ_${summary.kth}` },
    y: { label: 'density', log: true },
    series: Object.entries(summary.full.densities).map(([name, density]) => ({
      name,
      points: density
        .map((y, i) => ({ x: grid.start + i * grid.step, y }))
        .filter((p, i) => i % stride === 0 && p.y > 1e-12),
    })),
  };
  return {
    title: `Spectra across models (${summary.analysis}, step ${summary.step})`,
    paragraphs: [
      `Jensen–Shannon divergence (${summary.mode} mode, nats; ln 2 ≈ 0.693 is the largest in probability mode) between two models' full-Hessian densities, against the mean divergence between a block of one and a block of the other, and each model's own JS⁰ (its blocks among themselves, on the same grid). Spectra ${summary.normalization}; mean over the seeds both models have.`,
    ],
    table: {
      columns: [
        'models',
        'σ',
        'seeds',
        'full: JS',
        'blocks: mean JS across',
        'JS⁰ first',
        'JS⁰ second',
      ],
      rows: summary.pairs.map((p) => [
        `${p.models[0]} vs ${p.models[1]}`,
        p.sigma ?? 'the analysis’s',
        p.seeds.length,
        p.full,
        p.acrossBlocks,
        p.within[0],
        p.within[1],
      ]),
    },
    figures: [figure],
  };
}

export const spectrumDistanceReporter = definePlugin({
  kind: 'reporter',
  name: 'spectrum-distance',
  description:
    "Jensen–Shannon between different models' full-Hessian spectra, against their blocks' (Zhang et al. 2024, Fig. 1); spectrum-distance.json and a report section",
  config: spectrumDistanceConfig,
  create: (config): ReporterInstance => ({
    report: (data: ExperimentData) => {
      const summary = spectrumDistance(data, config);
      if (!summary) return [];
      const path = join(data.dir, 'spectrum-distance.json');
      writeTextAtomic(path, `${JSON.stringify(summary, null, 2)}\n`);
      return [path];
    },
    section: (data: ExperimentData) => {
      const summary = spectrumDistance(data, config);
      return summary ? spectrumDistanceSection(summary) : undefined;
    },
  }),
});
