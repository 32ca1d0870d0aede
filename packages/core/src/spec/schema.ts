/**
 * The spec: what a user writes (JSON or YAML) to describe an experiment. Plugin references
 * are checked against the registry (resolve.ts); the rest is checked here.
 *
 * An experiment expands into runs: every model × every optimizer × every point of the sweep
 * grid × every seed. Each run has a run spec with one model and one optimizer, which is itself
 * a valid spec that reproduces exactly that run.
 */
import { z } from 'zod';
import { linkResolution, resolutionOf, type ResolvedPluginRef } from '../registry.js';

const int = () => z.number().int();

/** File systems allow 255 bytes per name; a spec's name leaves room for suffixes. */
export const MAX_NAME_LENGTH = 100;

/** What a tuned value is chosen by: lower is better; the mean over seeds. */
export const TUNE_METRICS = ['finalLoss', 'bestLoss', 'finalEvalLoss', 'bestEvalLoss'] as const;
export type TuneMetric = (typeof TUNE_METRICS)[number];

export const tuneSchema = z.strictObject({
  metric: z.enum(TUNE_METRICS).default('finalLoss'),
  /** By optimizer label, then by config path inside the optimizer: `{ adam: { lr: [1e-3, 1e-2] } }`. */
  grid: z.record(z.string(), z.record(z.string(), z.array(z.unknown()).min(1))),
});

export interface ResolvedTune {
  metric: TuneMetric;
  grid: Record<string, Record<string, unknown[]>>;
}

/** The parts of a spec the core validates itself. Unknown keys are typos and fail. */
export const specSchema = z
  .strictObject({
    /** Names the folder runs/<name>/. */
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
        'must be letters, digits, ".", "_" or "-" (it names a folder)',
      )
      .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters (it names a folder)`),
    description: z.string().optional(),
    /** Seed of the experiment; every random draw derives from it. */
    seed: int().nonnegative().default(0),
    /** Repeat every run with each of these seeds (instead of `seed`). */
    seeds: z.array(int().nonnegative()).min(1).optional(),
    /** Modules that register more plugins: package names or paths relative to the spec file. */
    plugins: z.array(z.string().min(1)).default([]),
    backend: z.unknown().default('auto'),
    trainer: z.unknown().default('minibatch'),
    /** The data of every run; a model may bring its own (`models: [{ name, dataset }]`). */
    dataset: z.unknown().optional(),
    /** One model, or several to compare (`models`); each may name its own `dataset`. */
    model: z.unknown().optional(),
    models: z.array(z.unknown()).min(1).optional(),
    /** One optimizer, or several to compare (`optimizers`); runs share the seed and data. */
    optimizer: z.unknown().optional(),
    optimizers: z.array(z.unknown()).min(1).optional(),
    train: z.strictObject({
      /** Number of updates. */
      steps: int().positive(),
      /** Record loss every K states (and always the first and the last). */
      logEvery: int().positive().default(10),
    }),
    analyses: z.array(z.unknown()).default([]),
    /** A grid over config paths of a run: `{ "optimizer.lr": [1e-3, 1e-2] }`. */
    sweep: z.record(z.string(), z.array(z.unknown()).min(1)).default({}),
    /**
     * Learning-rate (or any config) grids per optimizer: every value is run, and reports keep,
     * for each model, optimizer and sweep point, the value with the best metric.
     */
    tune: tuneSchema.optional(),

    /** Reporters run at the end; by default every registered reporter. */
    reporters: z.array(z.unknown()).optional(),
  })
  .superRefine((spec, ctx) => {
    // Two runs with one seed are one run twice, into one folder at once.
    const first = new Map<number, number>();
    (spec.seeds ?? []).forEach((seed, i) => {
      const j = first.get(seed);
      if (j === undefined) first.set(seed, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['seeds', i],
          message: `seed ${seed} is already listed at seeds[${j}]; each seed gives one run, so list it once`,
        });
    });
    for (const [one, many] of [
      ['model', 'models'],
      ['optimizer', 'optimizers'],
    ] as const) {
      if (spec[one] !== undefined && spec[many] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [many],
          message: `give either ${one} or ${many}, not both`,
        });
      if (spec[one] === undefined && spec[many] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [one],
          message: `required (a ${one}, or a list under ${many})`,
        });
    }
  });

export type SpecInput = z.input<typeof specSchema>;

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

/**
 * Which runs an analysis runs in (`where:` on an analysis reference): every given criterion
 * must hold. Labels of the model and optimizer, seeds, and values of sweep axes (by path) and
 * tuned values (by name); a list means any of them. Analyses of a state that does not depend
 * on the optimizer (the initial parameters, `at: [0]`) need to run only once per model and seed.
 */
export const runSelectorSchema = z.strictObject({
  model: oneOrMany(z.string().min(1)).optional(),
  optimizer: oneOrMany(z.string().min(1)).optional(),
  seed: oneOrMany(int().nonnegative()).optional(),
  sweep: z.record(z.string(), z.unknown()).optional(),
  tune: z.record(z.string(), z.unknown()).optional(),
});

export type RunSelector = z.output<typeof runSelectorSchema>;

/** Schedule keys an analysis reference may carry next to its config. */
export const analysisScheduleSchema = z.looseObject({
  every: int().positive().optional(),
  at: z.array(int().nonnegative()).min(1).optional(),
  where: runSelectorSchema.optional(),
});

/** An analysis of a spec: its reference and when and where it runs. */
export interface ResolvedAnalysisRef extends ResolvedPluginRef {
  every?: number;
  at?: number[];
  /** The runs it runs in (all when absent); applied when the spec expands into runs. */
  where?: RunSelector;
}

/** An experiment with every plugin checked and every default filled in. */
export interface ResolvedSpec {
  name: string;
  description?: string;
  /** The seeds of the runs (`seeds`, or `[seed]`). */
  seeds: number[];
  plugins: string[];
  backend: ResolvedPluginRef;
  trainer: ResolvedPluginRef;
  /** Undefined only when every model brings its own. */
  dataset?: ResolvedPluginRef;
  /** Each with, optionally, the dataset it trains on instead of the spec's. */
  models: Array<ResolvedPluginRef & { dataset?: ResolvedPluginRef }>;
  optimizers: ResolvedPluginRef[];
  train: { steps: number; logEvery: number };
  analyses: ResolvedAnalysisRef[];
  sweep: Record<string, unknown[]>;
  tune?: ResolvedTune;
  reporters: ResolvedPluginRef[];
}

/** One run: one model, one optimizer, one point of the sweep, one seed. */
export interface RunSpec {
  name: string;
  description?: string;
  seed: number;
  plugins: string[];
  backend: ResolvedPluginRef;
  trainer: ResolvedPluginRef;
  dataset: ResolvedPluginRef;
  model: ResolvedPluginRef;
  optimizer: ResolvedPluginRef;
  train: { steps: number; logEvery: number };
  analyses: ResolvedAnalysisRef[];
}

/**
 * A plugin reference as it is written back: `{ name, label, ...config }`. It stands for the
 * same resolution as `ref` (see linkResolution), so creating it does not parse it again.
 */
export function flattenRef(ref: ResolvedPluginRef): Record<string, unknown> {
  return linkResolution({ name: ref.name, label: ref.label, ...ref.config }, resolutionOf(ref));
}

export function flattenAnalysisRef(a: ResolvedAnalysisRef): Record<string, unknown> {
  return linkResolution(
    {
      ...flattenRef(a),
      ...(a.every === undefined ? {} : { every: a.every }),
      ...(a.at === undefined ? {} : { at: a.at }),
      ...(a.where === undefined ? {} : { where: a.where }),
    },
    resolutionOf(a),
  );
}

/** The experiment in the form a user writes (experiment.json): valid input again. */
export function specToJson(spec: ResolvedSpec): Record<string, unknown> {
  return {
    name: spec.name,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    seeds: spec.seeds,
    plugins: spec.plugins,
    backend: flattenRef(spec.backend),
    trainer: flattenRef(spec.trainer),
    ...(spec.dataset === undefined ? {} : { dataset: flattenRef(spec.dataset) }),
    models: spec.models.map((m) => ({
      ...flattenRef(m),
      ...(m.dataset === undefined ? {} : { dataset: flattenRef(m.dataset) }),
    })),
    optimizers: spec.optimizers.map(flattenRef),
    train: spec.train,
    analyses: spec.analyses.map(flattenAnalysisRef),
    sweep: spec.sweep,
    ...(spec.tune === undefined ? {} : { tune: spec.tune }),
    reporters: spec.reporters.map(flattenRef),
  };
}

/** A run in the form a user writes (spec.json): running it again reproduces the run. */
export function runSpecToJson(run: RunSpec): Record<string, unknown> {
  return {
    name: run.name,
    ...(run.description === undefined ? {} : { description: run.description }),
    seed: run.seed,
    plugins: run.plugins,
    backend: flattenRef(run.backend),
    trainer: flattenRef(run.trainer),
    dataset: flattenRef(run.dataset),
    model: flattenRef(run.model),
    optimizer: flattenRef(run.optimizer),
    train: run.train,
    analyses: run.analyses.map(flattenAnalysisRef),
  };
}
