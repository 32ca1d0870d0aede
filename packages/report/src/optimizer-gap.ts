/**
 * The `optimizer-gap` reporter: how far one optimizer lags another on each model, against an
 * analysis value measured per model, across the models of an experiment (Zhang et al. 2024:
 * SGD's gap to Adam against the block heterogeneity JS⁰ at initialisation).
 *
 * Per model (the experiment's `models`, by label), at each optimizer's tuned values when the
 * spec tunes (the chosen grid point, all its seeds):
 * - the final loss of each optimizer, mean over seeds (`loss`: the final evaluation loss, or
 *   the final training-batch loss), and the gap, the ratio compared / reference;
 * - steps to a target: the target is the higher of the two final mean losses (the loss both
 *   optimizers reach), and each optimizer's steps are the first logged step where its mean
 *   curve over seeds is at or below it; the speed-up is compared steps / reference steps;
 * - x: the value of the analysis `against.analysis` at step `against.step` (JS⁰ at
 *   initialisation), from any run of the model and seed that recorded it (the state at step 0
 *   is the same for every optimizer), mean over seeds.
 *
 * Across models: Spearman's ρ between x and the gap (and the speed-up), its exact permutation
 * p-value, and a percentile bootstrap interval that resamples the models and, within each,
 * the seeds (x and both losses of a seed stay together).
 *
 * Writes `optimizer-gap.json` and `optimizer-gap.csv`, and gives the html reporter a section
 * with the table and the figures. Does nothing when the experiment has fewer than two models
 * with both optimizers.
 */
import { join } from 'node:path';
import {
  definePlugin,
  tunedView,
  z,
  type ExperimentData,
  type FigureSpec,
  type ReportSection,
  type ReporterInstance,
  type RunData,
} from '@tdx/core';
import { formatNumber } from './html.js';
import {
  hierarchicalBootstrap,
  spearman,
  spearmanPValue,
  type BootstrapInterval,
} from './rank-correlation.js';
import { csvField } from './summary-csv.js';
import { writeReportFile } from './write-file.js';

export const optimizerGapConfig = z.object({
  /** Label of the optimizer the gap is measured against (the denominator). */
  reference: z.string().min(1).default('adam'),
  /** Label of the optimizer compared with it (the numerator). */
  compared: z.string().min(1).default('sgd'),
  /** `evalLoss`: the final loss on the evaluation batch; `loss`: on the last training batch. */
  loss: z.enum(['evalLoss', 'loss']).default('evalLoss'),
  /** The x axis: an analysis label and the step of its value (JS⁰ at initialisation). */
  against: z
    .object({
      analysis: z.string().min(1).default('js'),
      step: z.number().int().nonnegative().default(0),
    })
    .default({ analysis: 'js', step: 0 }),
  /** Bootstrap resamples for the interval of ρ. */
  resamples: z.number().int().positive().default(5000),
  /** Level of the bootstrap interval. */
  level: z.number().gt(0).lt(1).default(0.95),
  /** Seed of the resampling. */
  seed: z.number().int().nonnegative().default(0),
});

export type OptimizerGapConfig = z.output<typeof optimizerGapConfig>;

/** One seed of one model: x, and each optimizer's final loss. */
export interface GapSeed {
  seed: number;
  x?: number;
  reference?: number;
  compared?: number;
}

export interface GapRow {
  model: string;
  /** The tuned values of each optimizer's runs (empty when not tuned). */
  referenceTune: Record<string, unknown>;
  comparedTune: Record<string, unknown>;
  seeds: GapSeed[];
  /** Mean over seeds, and the standard deviation over seeds, of x. */
  x?: number;
  xSd?: number;
  referenceLoss?: number;
  comparedLoss?: number;
  /** comparedLoss / referenceLoss. */
  ratio?: number;
  target?: number;
  referenceSteps?: number;
  comparedSteps?: number;
  /** comparedSteps / referenceSteps. */
  speedup?: number;
}

export interface Correlation {
  /** Models with both x and the y value. */
  n: number;
  rho?: number;
  pValue?: number;
  interval?: BootstrapInterval;
}

export interface GapSummary {
  reference: string;
  compared: string;
  loss: OptimizerGapConfig['loss'];
  against: OptimizerGapConfig['against'];
  rows: GapRow[];
  /** ρ between x and the loss ratio, and between x and the speed-up. */
  ratio: Correlation;
  speedup: Correlation;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};
const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function finalLoss(run: RunData, loss: OptimizerGapConfig['loss']): number | undefined {
  if (run.result?.status !== 'completed') return undefined;
  const value = loss === 'evalLoss' ? run.result.finalEvalLoss : run.result.finalLoss;
  return finite(value) ? value : undefined;
}

/** Mean over runs of the logged loss at each step, in step order. */
function meanCurve(runs: readonly RunData[], loss: OptimizerGapConfig['loss']) {
  const bySteps = new Map<number, number[]>();
  for (const run of runs)
    for (const m of run.metrics) {
      const y = m[loss];
      if (!finite(y)) continue;
      const ys = bySteps.get(m.step) ?? [];
      ys.push(y);
      bySteps.set(m.step, ys);
    }
  return [...bySteps]
    .filter(([, ys]) => ys.length === runs.length)
    .map(([step, ys]) => ({ step, y: mean(ys) }))
    .sort((a, b) => a.step - b.step);
}

const firstBelow = (curve: ReadonlyArray<{ step: number; y: number }>, target: number) =>
  curve.find((p) => p.y <= target * (1 + 1e-12))?.step;

/** The analysis value of each seed of `model` at `step`, from any run that recorded it. */
function xBySeed(
  runs: readonly RunData[],
  model: string,
  against: OptimizerGapConfig['against'],
): Map<number, number> {
  const out = new Map<number, number>();
  for (const run of runs) {
    if (run.model !== model || out.has(run.seed)) continue;
    const record = run.analyses[against.analysis]?.records.find((r) => r.step === against.step);
    if (record && finite(record.value)) out.set(run.seed, record.value);
  }
  return out;
}

/**
 * ρ over the models that have x and y. Its interval resamples the models and, when `ofSeeds`
 * gives y from a set of seeds, the seeds within each model; otherwise the models only.
 */
function correlation(
  rows: readonly GapRow[],
  yOfRow: (row: GapRow) => number | undefined,
  config: OptimizerGapConfig,
  ofSeeds?: (seeds: readonly GapSeed[]) => number,
): Correlation {
  const used = rows.filter((r) => finite(r.x) && finite(yOfRow(r)));
  const xs = used.map((r) => r.x!);
  const ys = used.map((r) => yOfRow(r)!);
  const rho = spearman(xs, ys);
  if (rho === undefined) return { n: used.length };
  const options = { resamples: config.resamples, level: config.level, seed: config.seed };
  const complete = (s: GapSeed) => finite(s.x) && finite(s.reference) && finite(s.compared);
  const interval = ofSeeds
    ? hierarchicalBootstrap(
        used.map((r) => r.seeds.filter(complete)).filter((g) => g.length > 0),
        (resampled) =>
          spearman(
            resampled.map((seeds) => mean(seeds.map((s) => s.x!))),
            resampled.map(ofSeeds),
          ),
        options,
      )
    : hierarchicalBootstrap(
        used.map((r) => [r]),
        (resampled) =>
          spearman(
            resampled.map((g) => g[0]!.x!),
            resampled.map((g) => yOfRow(g[0]!)!),
          ),
        options,
      );
  const pValue = spearmanPValue(xs, ys, 20000, config.seed);
  return {
    n: used.length,
    rho,
    ...(pValue === undefined ? {} : { pValue }),
    ...(interval ? { interval } : {}),
  };
}

/** The comparison, or undefined when fewer than two models have both optimizers. */
export function optimizerGap(
  data: ExperimentData,
  config: OptimizerGapConfig,
): GapSummary | undefined {
  const shown = tunedView(data);
  const specModels = Array.isArray(data.spec.models)
    ? (data.spec.models as Array<{ label?: unknown; name?: unknown }>).map((m) =>
        String(m.label ?? m.name),
      )
    : [];
  const models = [...new Set([...specModels, ...data.runs.map((r) => r.model)])];
  const rows: GapRow[] = [];
  for (const model of models) {
    const of = (optimizer: string) =>
      shown.runs.filter((r) => r.model === model && r.optimizer === optimizer);
    const [reference, compared] = [of(config.reference), of(config.compared)];
    if (reference.length === 0 || compared.length === 0) continue;
    const xs = xBySeed(data.runs, model, config.against);
    const seedList = [...new Set([...reference, ...compared].map((r) => r.seed))].sort(
      (a, b) => a - b,
    );
    const lossOf = (runs: RunData[], seed: number) => {
      const run = runs.find((r) => r.seed === seed);
      return run ? finalLoss(run, config.loss) : undefined;
    };
    const seeds: GapSeed[] = seedList.map((seed) => {
      const [x, ref, cmp] = [xs.get(seed), lossOf(reference, seed), lossOf(compared, seed)];
      return {
        seed,
        ...(x === undefined ? {} : { x }),
        ...(ref === undefined ? {} : { reference: ref }),
        ...(cmp === undefined ? {} : { compared: cmp }),
      };
    });
    const values = (key: 'x' | 'reference' | 'compared') =>
      seeds.flatMap((s) => (finite(s[key]) ? [s[key]] : []));
    const row: GapRow = {
      model,
      referenceTune: reference[0]!.tune ?? {},
      comparedTune: compared[0]!.tune ?? {},
      seeds,
    };
    if (values('x').length > 0) Object.assign(row, { x: mean(values('x')), xSd: sd(values('x')) });
    const [refs, cmps] = [values('reference'), values('compared')];
    if (refs.length > 0 && cmps.length > 0) {
      const [r, c] = [mean(refs), mean(cmps)];
      const target = Math.max(r, c);
      const [referenceSteps, comparedSteps] = [
        firstBelow(meanCurve(reference, config.loss), target),
        firstBelow(meanCurve(compared, config.loss), target),
      ];
      Object.assign(row, {
        referenceLoss: r,
        comparedLoss: c,
        ratio: c / r,
        target,
        ...(referenceSteps === undefined ? {} : { referenceSteps }),
        ...(comparedSteps === undefined ? {} : { comparedSteps }),
        ...(referenceSteps !== undefined && comparedSteps !== undefined && referenceSteps > 0
          ? { speedup: comparedSteps / referenceSteps }
          : {}),
      });
    }
    rows.push(row);
  }
  if (rows.filter((r) => finite(r.ratio)).length < 2) return undefined;
  const seedRatio = (seeds: readonly GapSeed[]) =>
    mean(seeds.map((s) => s.compared!)) / mean(seeds.map((s) => s.reference!));
  return {
    reference: config.reference,
    compared: config.compared,
    loss: config.loss,
    against: config.against,
    rows,
    ratio: correlation(rows, (r) => r.ratio, config, seedRatio),
    // Steps come from the mean curves over seeds: that interval resamples the models only.
    speedup: correlation(rows, (r) => r.speedup, config),
  };
}

const tuneText = (tune: Record<string, unknown>) =>
  Object.entries(tune)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');

function correlationText(name: string, what: string, c: Correlation, xLabel: string): string {
  if (c.rho === undefined)
    return `${name}: Spearman’s ρ between ${xLabel} and ${what} is undefined (${c.n} models, or a constant side).`;
  const interval = c.interval
    ? `, ${Math.round(c.interval.level * 100)}% bootstrap interval [${c.interval.lo.toFixed(2)}, ${c.interval.hi.toFixed(2)}] (${c.interval.resamples} resamples${c.interval.undefinedResamples > 0 ? `, ${c.interval.undefinedResamples} left out as constant` : ''})`
    : '';
  const p = c.pValue === undefined ? '' : `, permutation p = ${c.pValue.toFixed(3)}`;
  return `${name}: Spearman’s ρ between ${xLabel} and ${what} over ${c.n} models = ${c.rho.toFixed(2)}${interval}${p}.`;
}

function figures(summary: GapSummary): FigureSpec[] {
  const xLabel = `${summary.against.analysis} at step ${summary.against.step}`;
  const scatter = (
    id: string,
    title: string,
    yLabel: string,
    y: (r: GapRow) => number | undefined,
    c: Correlation,
  ): FigureSpec => ({
    kind: 'scatter',
    id,
    title,
    caption: `One point per model: ${xLabel} (mean over seeds) against ${yLabel}. ${correlationText('', yLabel, c, xLabel).replace(/^: /, '')}`,
    x: { label: xLabel },
    y: { label: yLabel, log: summary.rows.every((r) => !finite(y(r)) || y(r)! > 0) },
    series: summary.rows
      .filter((r) => finite(r.x) && finite(y(r)))
      .map((r) => ({ name: r.model, points: [{ x: r.x!, y: y(r)! }] })),
  });
  const out = [
    scatter(
      'optimizer-gap-loss',
      `Final ${summary.loss} ratio ${summary.compared} / ${summary.reference} against ${summary.against.analysis}`,
      `final ${summary.loss}, ${summary.compared} / ${summary.reference}`,
      (r) => r.ratio,
      summary.ratio,
    ),
  ];
  if (summary.rows.filter((r) => finite(r.speedup)).length >= 2)
    out.push(
      scatter(
        'optimizer-gap-steps',
        `Steps to the target loss, ${summary.compared} / ${summary.reference}, against ${summary.against.analysis}`,
        `steps to target, ${summary.compared} / ${summary.reference}`,
        (r) => r.speedup,
        summary.speedup,
      ),
    );
  return out;
}

const COLUMNS = [
  'model',
  'x',
  'x_sd',
  'seeds',
  'reference',
  'reference_tune',
  'reference_loss',
  'compared',
  'compared_tune',
  'compared_loss',
  'loss_ratio',
  'target_loss',
  'reference_steps',
  'compared_steps',
  'steps_ratio',
] as const;

function csv(summary: GapSummary): string {
  const lines = [COLUMNS.join(',')];
  for (const r of summary.rows)
    lines.push(
      [
        r.model,
        r.x,
        r.xSd,
        r.seeds.length,
        summary.reference,
        tuneText(r.referenceTune),
        r.referenceLoss,
        summary.compared,
        tuneText(r.comparedTune),
        r.comparedLoss,
        r.ratio,
        r.target,
        r.referenceSteps,
        r.comparedSteps,
        r.speedup,
      ]
        .map(csvField)
        .join(','),
    );
  return `${lines.join('\n')}\n`;
}

export function optimizerGapSection(summary: GapSummary): ReportSection {
  const xLabel = `${summary.against.analysis} at step ${summary.against.step}`;
  const num = (x: number | undefined) => (finite(x) ? x : null);
  return {
    title: `Gap: ${summary.compared} against ${summary.reference}, by ${summary.against.analysis}`,
    paragraphs: [
      `Per model, each optimizer at its tuned values; final ${summary.loss} as the mean over seeds; the loss ratio is ${summary.compared} / ${summary.reference} (above 1: ${summary.compared} ends higher). The target loss is the higher of the two final losses; steps are the first logged step at which each optimizer’s mean curve reaches it.`,
      correlationText('Loss ratio', 'the loss ratio', summary.ratio, xLabel),
      correlationText('Steps', 'the ratio of steps to the target', summary.speedup, xLabel),
    ],
    table: {
      columns: [
        'model',
        `${xLabel} (mean ± sd)`,
        `${summary.reference} tuned`,
        `${summary.reference} loss`,
        `${summary.compared} tuned`,
        `${summary.compared} loss`,
        'loss ratio',
        'target',
        `${summary.reference} steps`,
        `${summary.compared} steps`,
        'steps ratio',
      ],
      rows: summary.rows.map((r) => [
        r.model,
        finite(r.x) ? `${formatNumber(r.x)} ± ${formatNumber(r.xSd ?? 0)}` : null,
        tuneText(r.referenceTune),
        num(r.referenceLoss),
        tuneText(r.comparedTune),
        num(r.comparedLoss),
        num(r.ratio),
        num(r.target),
        num(r.referenceSteps),
        num(r.comparedSteps),
        num(r.speedup),
      ]),
    },
    figures: figures(summary),
  };
}

export const optimizerGapReporter = definePlugin({
  kind: 'reporter',
  name: 'optimizer-gap',
  description:
    'one optimizer’s gap to another per model (final-loss ratio, steps to a target) against an analysis value (JS⁰), Spearman’s ρ with a bootstrap interval; optimizer-gap.json/.csv and a report section',
  config: optimizerGapConfig,
  create: (config): ReporterInstance => ({
    report: (data: ExperimentData) => {
      const summary = optimizerGap(data, config);
      if (!summary) return [];
      return [
        writeReportFile(
          join(data.dir, 'optimizer-gap.json'),
          `${JSON.stringify(summary, null, 2)}\n`,
        ),
        writeReportFile(join(data.dir, 'optimizer-gap.csv'), csv(summary)),
      ];
    },
    section: (data: ExperimentData) => {
      const summary = optimizerGap(data, config);
      return summary ? optimizerGapSection(summary) : undefined;
    },
  }),
});
