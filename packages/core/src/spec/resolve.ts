/**
 * Validates a whole spec before any work: structure, plugin modules, every plugin reference
 * and its config, every sweep value. All problems are collected and reported together, in the
 * order they appear in the file.
 */
import type { z } from 'zod';
import { TdxError, type Problem } from '../errors.js';
import { estimateRun, exceeded, machineBudget, MAX_RUNS } from '../estimate.js';
import { loadPluginModules } from '../plugin-loader.js';
import type { PluginKind } from '../plugin.js';
import {
  linkResolution,
  refData,
  resolutionOf,
  type Registry,
  type ResolvedPluginRef,
} from '../registry.js';
import { zodProblems } from '../zod-problems.js';
import { expandRuns, type PlannedRun } from './expand.js';
import {
  analysisScheduleSchema,
  specSchema,
  type ResolvedAnalysisRef,
  type ResolvedSpec,
} from './schema.js';
import type { SpecSource } from './source.js';

export interface ResolveSpecOptions {
  /** Registry to load `plugins` into: pass a child so they do not leak. */
  registry: Registry;
  /** Folder that relative plugin paths are resolved from. */
  baseDir?: string;
  /** The file the spec came from, to point problems at lines. */
  source?: SpecSource;
  /** Accept runs whose estimated size exceeds this machine (see estimate.ts). */
  forceSize?: boolean;
  /** Where results will go: its free disk bounds the runs' estimated disk use. */
  outDir?: string;
}

/** Adds `file:line:col` to each problem and orders them as they appear in the file. */
function located(problems: Problem[], source: SpecSource | undefined): Problem[] {
  if (!source) return problems;
  const position = (p: Problem): [number, number] => {
    const match = /:(\d+):(\d+)$/.exec(p.location ?? '');
    return match ? [Number(match[1]), Number(match[2])] : [Infinity, 0];
  };
  return problems
    .map((p) => {
      const location = source.locate(p.path);

      return location ? { ...p, location } : p;
    })
    .sort((a, b) => {
      const [la, ca] = position(a);
      const [lb, cb] = position(b);
      return la - lb || ca - cb;
    });
}

/** The fields plugin checks need, from a spec whose structure failed validation. */
function lenientSpec(raw: Record<string, unknown>) {
  const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
  const train = (raw.train ?? {}) as { steps?: unknown };
  return {
    plugins: list(raw.plugins).filter((p): p is string => typeof p === 'string'),
    backend: raw.backend ?? 'auto',
    trainer: raw.trainer ?? 'minibatch',
    dataset: raw.dataset,
    model: raw.model,
    models: Array.isArray(raw.models) ? raw.models : undefined,
    optimizer: raw.optimizer,
    optimizers: Array.isArray(raw.optimizers) ? raw.optimizers : undefined,
    analyses: list(raw.analyses),
    reporters: Array.isArray(raw.reporters) ? raw.reporters : undefined,
    train: { steps: typeof train.steps === 'number' ? train.steps : undefined },
  };
}

/** Validates `raw` and expands it into runs; throws SPEC_INVALID listing every problem. */
export async function resolveExperiment(
  raw: unknown,
  options: ResolveSpecOptions,
): Promise<{ spec: ResolvedSpec; runs: PlannedRun[]; notices: string[] }> {
  const checks = new SpecChecks(options);
  const { parsed, spec } = checkStructure(raw, checks);
  checks.problems.push(
    ...(await loadPluginModules(spec.plugins, options.registry, options.baseDir)),
  );
  const refs = checkReferences(spec, checks);
  const resolved = assemble(parsed, refs, checks);
  checkRunCount(resolved, options);
  const runs = expandRuns(resolved, options.registry, checks.problems);
  checks.failIfAny();
  if (!options.forceSize) checkSizes(runs, options.registry, options.outDir, options.source);
  return { spec: resolved, runs, notices: checks.notices };
}

type ParsedSpec = z.output<typeof specSchema>;
/** The spec as far as it parsed: the parsed spec, or the fields plugin checks need. */
type CheckedInput = ParsedSpec | ReturnType<typeof lenientSpec>;

/** The problems found so far and the notices to give, and how references are checked. */
class SpecChecks {
  readonly problems: Problem[] = [];
  /** Former plugin names and config keys still work; these say what they are called now. */
  readonly notices: string[] = [];

  readonly registry: Registry;

  constructor(private readonly options: ResolveSpecOptions) {
    this.registry = options.registry;
  }

  /** Throws SPEC_INVALID with every problem, located in the file and in its order. */
  fail(problems: Problem[] = this.problems): never {
    const { source } = this.options;
    const where = source ? ` in ${source.path}` : '';
    throw new TdxError('SPEC_INVALID', `the spec${where} has ${problems.length} problem(s)`, {
      problems: located(problems, source),
      hint: 'fix these and run again; `tdx list` shows every plugin and `tdx describe <kind> <name>` its config',
    });
  }

  failIfAny(): void {
    if (this.problems.length > 0) this.fail();
  }

  /** One reference, checked once; its spec form is linked to the resolution. */
  ref(kind: PluginKind, value: unknown, path: string): ResolvedPluginRef | undefined {
    const { resolved, problems, notices } = this.registry.check(kind, value, path);
    this.problems.push(...problems);
    this.notices.push(...notices);
    // The spec holds the resolution's data, linked to it: runs create from it without a new parse.
    return resolved && refData(resolved);
  }

  /** References under `one` (a single value) or `many` (a list), each checked, labels unique. */
  refs<T extends ResolvedPluginRef>(
    one: string,
    many: string,
    single: unknown,
    list: unknown[] | undefined,
    check: (value: unknown, path: string) => T | undefined,
    /** Whether two entries may share a label (analyses whose `where`s pick their runs). */
    mayShare: (a: T, b: T) => boolean = () => false,
  ): T[] {
    const entries = list
      ? list.map((v, i) => [v, `${many}[${i}]`] as const)
      : single === undefined
        ? []
        : [[single, one] as const];
    const checked = entries.map(([v, path]) => check(v, path));
    const seen = new Map<string, number>();
    checked.forEach((r, i) => {
      if (!r) return;
      const first = seen.get(r.label);
      if (first === undefined) seen.set(r.label, i);
      else if (!mayShare(checked[first]!, r))
        this.problems.push({
          path: `${entries[i]![1]}.label`,
          message: `label "${r.label}" is already used by ${entries[first]![1]}`,
          hint: 'give each entry a distinct label: it names the run folder and the metric (analyses may share one when each has a where: and no run gets both)',
        });
    });
    return checked.filter((r): r is T => r !== undefined);
  }
}

/**
 * Structure and plugin references are both checked, so every problem is reported at once;
 * where the structure is wrong, the raw value stands in (its problem is already listed).
 */
function checkStructure(
  raw: unknown,
  checks: SpecChecks,
): { parsed: ParsedSpec | undefined; spec: CheckedInput } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    checks.fail([
      {
        path: '',
        message: 'a spec must be a mapping with name, dataset, model, optimizer(s) and train',
        value: raw,
      },
    ]);
  }
  const parsed = specSchema.safeParse(raw);
  if (parsed.success) return { parsed: parsed.data, spec: parsed.data };
  checks.problems.push(...zodProblems(parsed.error, raw, specSchema));
  return { parsed: undefined, spec: lenientSpec(raw as Record<string, unknown>) };
}

/** Every plugin reference of the spec, resolved (undefined or left out where it has problems). */
function checkReferences(spec: CheckedInput, checks: SpecChecks) {
  return {
    backend: checks.ref('backend', spec.backend, 'backend'),
    trainer: checks.ref('trainer', spec.trainer, 'trainer'),
    dataset: checkDataset(spec, checks),
    models: checkModels(spec, checks),
    optimizers: checks.refs('optimizer', 'optimizers', spec.optimizer, spec.optimizers, (v, p) =>
      checks.ref('optimizer', v, p),
    ),
    analyses: checkAnalyses(spec, checks),
    reporters: checkReporters(spec, checks),
  };
}

/** A model reference that names its own dataset. */
const ownsDataset = (m: unknown): m is { dataset: unknown } =>
  m !== null && typeof m === 'object' && 'dataset' in m && m.dataset !== undefined;

/** The spec's dataset: required unless every model names its own. */
function checkDataset(spec: CheckedInput, checks: SpecChecks): ResolvedPluginRef | undefined {
  const modelList = spec.models ?? (spec.model === undefined ? [] : [spec.model]);
  const everyModelOwnsOne = modelList.length > 0 && modelList.every(ownsDataset);
  if (spec.dataset !== undefined) return checks.ref('dataset', spec.dataset, 'dataset');
  if (!everyModelOwnsOne)
    checks.problems.push({
      path: 'dataset',
      message: 'required (the data of every run, unless every model names its own dataset)',
    });
  return undefined;
}

/** The models, each with the dataset it names (if it names one). */
function checkModels(spec: CheckedInput, checks: SpecChecks): ResolvedSpec['models'] {
  return checks.refs('model', 'models', spec.model, spec.models, (v, p) => {
    if (!ownsDataset(v)) return checks.ref('model', v, p);
    const { dataset: own, ...model } = v;
    const modelRef = checks.ref('model', model, p);
    const datasetRef = checks.ref('dataset', own, `${p}.dataset`);
    return (
      modelRef &&
      datasetRef &&
      linkResolution({ ...modelRef, dataset: datasetRef }, resolutionOf(modelRef))
    );
  });
}

/** The analyses, each with its schedule (`every`, `at`) and the runs it picks (`where`). */
function checkAnalyses(spec: CheckedInput, checks: SpecChecks): ResolvedAnalysisRef[] {
  return checks.refs(
    'analysis',
    'analyses',
    undefined,
    spec.analyses,
    (a, path): ResolvedAnalysisRef | undefined => {
      const resolved = checks.ref('analysis', a, path);
      const schedule = analysisScheduleSchema.safeParse(typeof a === 'string' ? {} : a);
      if (!schedule.success) {
        checks.problems.push(...zodProblems(schedule.error, a, analysisScheduleSchema, path));
        return undefined;
      }
      const { every, at, where } = schedule.data;
      const steps = spec.train.steps;
      for (const [j, t] of (at ?? []).entries()) {
        if (steps !== undefined && t > steps)
          checks.problems.push({
            path: `${path}.at[${j}]`,
            message: `is after the last step (train.steps = ${steps})`,
            value: t,
          });
      }
      if (!resolved) return undefined;
      return linkResolution(
        {
          ...resolved,
          ...(every === undefined ? {} : { every }),
          ...(at === undefined ? {} : { at }),
          ...(where === undefined ? {} : { where }),
        },
        resolutionOf(resolved),
      );
    },
    // Analyses may share a label when each picks its runs; expanding checks no run gets both.
    (a, b) => a.where !== undefined && b.where !== undefined,
  );
}

/** The reporters; by default every registered reporter writes its files. */
function checkReporters(spec: CheckedInput, checks: SpecChecks): ResolvedPluginRef[] {
  const refs = spec.reporters ?? checks.registry.list('reporter').map((p) => ({ name: p.name }));
  return checks.refs('reporter', 'reporters', undefined, refs, (v, p) =>
    checks.ref('reporter', v, p),
  );
}

/** The resolved spec, once the structure and every reference are free of problems. */
function assemble(
  parsed: ParsedSpec | undefined,
  refs: ReturnType<typeof checkReferences>,
  checks: SpecChecks,
): ResolvedSpec {
  if (!parsed || checks.problems.length > 0) checks.fail();
  const { backend, trainer, dataset, models, optimizers, analyses, reporters } = refs;
  return {
    name: parsed.name,
    ...(parsed.description === undefined ? {} : { description: parsed.description }),
    seeds: parsed.seeds ?? [parsed.seed],
    plugins: parsed.plugins,
    backend: backend!,
    trainer: trainer!,
    ...(dataset === undefined ? {} : { dataset }),
    models,
    optimizers,
    train: parsed.train,
    analyses,
    sweep: parsed.sweep,
    ...(parsed.tune === undefined ? {} : { tune: parsed.tune }),
    reporters,
  };
}

/** SIZE_LIMIT before expanding a spec into more runs than anyone could run. */
function checkRunCount(spec: ResolvedSpec, options: ResolveSpecOptions): void {
  const planned = plannedRunCount(spec);
  if (planned <= MAX_RUNS || options.forceSize) return;
  const { source } = options;
  throw new TdxError(
    'SIZE_LIMIT',
    `the spec${source ? ` in ${source.path}` : ''} expands into ${planned.toExponential(1)} runs (models × optimizers × sweep and tune values × seeds), more than ${MAX_RUNS}`,
    { hint: 'sweep fewer values, or pass --force-size to expand it anyway' },
  );
}

/** How many runs a spec expands into, before expanding it. */
function plannedRunCount(spec: ResolvedSpec): number {
  const sweep = Object.values(spec.sweep).reduce((n, values) => n * values.length, 1);
  const tune = spec.optimizers.reduce(
    (n, o) =>
      n + Object.values(spec.tune?.grid[o.label] ?? {}).reduce((m, values) => m * values.length, 1),
    0,
  );
  return spec.models.length * tune * sweep * spec.seeds.length;
}

/** SIZE_LIMIT when a run needs more memory, time or disk than this machine has. */
function checkSizes(
  runs: readonly PlannedRun[],
  registry: Registry,
  outDir: string | undefined,
  source: SpecSource | undefined,
): void {
  const budget = machineBudget(outDir);
  const over: Array<{ run: PlannedRun; reasons: string[] }> = [];
  // Runs of one spec often share a size: estimate each distinct one once.
  const seen = new Map<string, string[]>();
  for (const run of runs) {
    const { seed: _seed, ...sized } = run.spec;
    const key = JSON.stringify(sized);
    let reasons = seen.get(key);
    if (!reasons) {
      reasons = exceeded(estimateRun(run.spec, registry), budget);
      seen.set(key, reasons);
    }
    if (reasons.length > 0) over.push({ run, reasons });
  }
  if (over.length === 0) return;
  // Runs of one size fail alike: one line for each distinct reason.
  const byReason = new Map<string, string[]>();
  for (const { run, reasons } of over) {
    const text = reasons.join('; and ');
    byReason.set(text, [...(byReason.get(text) ?? []), run.label]);
  }
  const groups = [...byReason.entries()];
  const shown = groups.slice(0, 5);
  throw new TdxError(
    'SIZE_LIMIT',
    `${over.length} of the ${runs.length} run(s) of the spec${source ? ` in ${source.path}` : ''} cannot fit on this machine`,
    {
      problems: [
        ...shown.map(([reason, labels]) => ({
          path:
            labels.length === 1
              ? `run ${labels[0]}`
              : `runs ${labels.slice(0, 4).join(', ')}${labels.length > 4 ? ` and ${labels.length - 4} more` : ''}`,
          message: `${labels.length === 1 ? 'needs' : 'each need'} ${reason}`,
        })),
        ...(groups.length > shown.length
          ? [{ path: '', message: `and ${groups.length - shown.length} more group(s) of runs` }]
          : []),
      ],
      hint:
        'make the model, the batches or train.steps smaller (the estimate comes from the config: ' +
        'parameters, activations of a batch, steps × work per step); or pass --force-size to run it anyway',
    },
  );
}

/** Validates `raw` (see resolveExperiment) and returns the resolved experiment spec. */
export async function resolveSpec(
  raw: unknown,
  options: ResolveSpecOptions,
): Promise<ResolvedSpec> {
  return (await resolveExperiment(raw, options)).spec;
}
