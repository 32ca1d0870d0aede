/**
 * Block spectra for the quadratic dataset taken from a measurement (Zhang et al. 2024, §4:
 * quadratics whose blocks' eigenvalues are sampled from GPT-2's and ResNet's Hessian blocks).
 *
 * Sources: an experiment folder whose runs recorded a `hessian-spectrum` (or
 * `block-heterogeneity`) analysis, read as plain JSON (each block's SLQ quadratures), or
 * eigenvalues given inline. From quadratures, a block of n eigenvalues takes the quantiles at
 * levels i/(n − 1), i = 0 … n − 1, of the block's SLQ measure (every probe's nodes with their
 * weights, averaged over probes): the bulk's shape, and the extreme Ritz values at both ends,
 * so each block keeps its range.
 *
 * Measured Hessians are indefinite and their scales span many orders, so the eigenvalues are
 * then mapped onto a positive definite spectrum of condition number κ, one map for all blocks
 * (the paper shifts and scales too, but does not publish how):
 * - `magnitude` (default): |λ| scaled so the largest is κ, and raised to at least 1: blocks
 *   keep their scales relative to each other (a block 1e-4 times smaller stays so, down to
 *   the floor at λmax/κ); negative curvature counts by its size;
 * - `affine`: 1 + (κ − 1)(λ − λmin)/(λmax − λmin): the order of all eigenvalues kept, their
 *   ratios not (the most negative eigenvalue becomes 1);
 * - `none`: as given (inline eigenvalues, which must then be positive).
 */
import { isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { readExperiment, TdxError } from '@tdx/core';

export interface Quadrature {
  nodes: number[];
  weights: number[];
}

export interface SpectraSource {
  /** An experiment folder, relative to the working directory. */
  experiment: string;
  model: string;
  analysis: string;
  step: number;
  seed?: number | undefined;
  blocks?: string[] | undefined;
}

export type Rescale = 'magnitude' | 'affine' | 'none';

/** n values at levels i/(n − 1) of the SLQ measure: the smallest node first, the largest last. */
export function quantilesOfQuadratures(quadratures: readonly Quadrature[], n: number): number[] {
  const pooled = quadratures
    .flatMap((q) => q.nodes.map((x, j) => ({ x, w: q.weights[j]! / quadratures.length })))
    .sort((a, b) => a.x - b.x);
  if (pooled.length === 0) throw new TdxError('INVALID_ARGUMENT', 'a block without Ritz values');
  const total = pooled.reduce((s, p) => s + p.w, 0);
  const out: number[] = [];
  let k = 0;
  let cumulative = pooled[0]!.w;
  for (let i = 0; i < n; i++) {
    if (i === n - 1 && n > 1) {
      out.push(pooled.at(-1)!.x);
      continue;
    }
    const level = n === 1 ? 0.5 : i / (n - 1);
    while (cumulative < level * total && k < pooled.length - 1) cumulative += pooled[++k]!.w;
    out.push(pooled[k]!.x);
  }
  return out;
}

interface StoredBlock {
  name: string;
  quadratures: Quadrature[];
}

/** Each block's quadratures, by name, from the run of `model` in an experiment folder. */
export function measuredQuadratures(source: SpectraSource): StoredBlock[] {
  const dir = isAbsolute(source.experiment)
    ? source.experiment
    : resolve(process.cwd(), source.experiment);
  if (!existsSync(dir)) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `dataset.spectra.experiment: no experiment folder at ${dir}`,
      {
        hint:
          'run the spec that measures the spectra first (for recipes/quadratic-measured-blocks.yaml: ' +
          'tdx run recipes/full-vs-block-spectra.yaml, from the same folder), or point ' +
          'dataset.spectra.experiment at its results folder',
      },
    );
  }
  const data = readExperiment(dir);
  const runs = data.runs
    .filter((r) => r.model === source.model && r.analyses[source.analysis])
    .filter((r) => source.seed === undefined || r.seed === source.seed)
    .sort((a, b) => a.seed - b.seed);
  const models = [...new Set(data.runs.map((r) => r.model))].join(', ');
  if (runs.length === 0)
    throw new TdxError(
      'INVALID_ARGUMENT',
      `no run of model "${source.model}"${source.seed === undefined ? '' : ` with seed ${source.seed}`} recorded the analysis "${source.analysis}" in ${dir}`,
      {
        hint: `models there: ${models || 'none'}; run the experiment that measures the spectra first`,
      },
    );
  const record = runs[0]!.analyses[source.analysis]!.records.find((r) => r.step === source.step);
  const stored = (record?.spectra ?? record?.blocks) as StoredBlock[] | undefined;
  if (!stored)
    throw new TdxError(
      'INVALID_ARGUMENT',
      `the analysis "${source.analysis}" of ${runs[0]!.label} has no spectra at step ${source.step}`,
    );
  const blocks = stored.filter((b) => b.name !== 'H');
  if (!source.blocks) return blocks;
  return source.blocks.map((name) => {
    const found = blocks.find((b) => b.name === name);
    if (!found)
      throw new TdxError('INVALID_ARGUMENT', `no block "${name}" in ${runs[0]!.label}'s spectra`, {
        hint: `blocks there: ${blocks.map((b) => b.name).join(', ')}`,
      });
    return found;
  });
}

/** The blocks' eigenvalues mapped as `rescale` says onto condition number κ (see above). */
export function rescaleSpectra(
  blocks: readonly number[][],
  rescale: Rescale,
  kappa: number,
): number[][] {
  const all = blocks.flat();
  if (rescale === 'none') {
    if (all.some((x) => !(x > 0)))
      throw new TdxError(
        'INVALID_ARGUMENT',
        'rescale: none needs positive eigenvalues (a positive definite quadratic)',
        { hint: 'use rescale: magnitude or affine to map measured spectra onto [1, κ]' },
      );
    return blocks.map((b) => [...b]);
  }
  if (rescale === 'magnitude') {
    const top = Math.max(...all.map(Math.abs));
    if (!(top > 0)) throw new TdxError('INVALID_ARGUMENT', 'every eigenvalue is 0');
    return blocks.map((b) => b.map((x) => Math.max(1, (kappa * Math.abs(x)) / top)));
  }
  const [lo, hi] = [Math.min(...all), Math.max(...all)];
  if (!(hi > lo)) throw new TdxError('INVALID_ARGUMENT', 'every eigenvalue is the same');
  return blocks.map((b) => b.map((x) => 1 + ((kappa - 1) * (x - lo)) / (hi - lo)));
}

/** Each block's eigenvalues for `construction: measured`, with the block names. */
export function measuredSpectra(config: {
  spectra?: SpectraSource | undefined;
  eigenvalues?: number[][] | undefined;
  blockSize: number;
  rescale: Rescale;
  conditionNumber: number;
}): { names: string[]; eigenvalues: number[][] } {
  const raw = config.eigenvalues
    ? { names: config.eigenvalues.map((_, b) => `block.${b}`), eigenvalues: config.eigenvalues }
    : (() => {
        const blocks = measuredQuadratures(config.spectra!);
        return {
          names: blocks.map((b) => b.name),
          eigenvalues: blocks.map((b) => quantilesOfQuadratures(b.quadratures, config.blockSize)),
        };
      })();
  return {
    names: raw.names,
    eigenvalues: rescaleSpectra(raw.eigenvalues, config.rescale, config.conditionNumber),
  };
}
