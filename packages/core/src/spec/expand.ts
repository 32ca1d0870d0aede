/**
 * Expanding an experiment into runs: models × optimizers × sweep grid × seeds. Sweep values
 * are set on each run's spec and the run is checked again, so a bad value is reported at
 * `sweep["optimizer.lr"][1]` before anything runs.
 */
import { canonicalJson, hashOf } from '../canonical-json.js';
import type { RunIdentity } from '../experiment-data.js';

import { isTdxError, joinPath, type Problem } from '../errors.js';
import type { PluginKind } from '../plugin.js';
import {
  linkResolution,
  refData,
  resolutionOf,
  type Registry,
  type ResolvedPluginRef,
} from '../registry.js';
import { zodProblems } from '../zod-problems.js';
import { parsePath, setPath, type PathKey } from './paths.js';
import {
  flattenAnalysisRef,
  flattenRef,
  specSchema,
  type ResolvedAnalysisRef,
  type ResolvedSpec,
  type RunSelector,
  type RunSpec,
  runSpecToJson,
} from './schema.js';

/** A run before it has a folder: what distinguishes it from its siblings, and its spec. */
export interface PlannedRun extends RunIdentity {
  spec: RunSpec;
}

/** Where sweep paths may point, and the plugin kind at each root. */
const SWEEPABLE: Record<string, PluginKind | 'train' | 'analyses'> = {
  dataset: 'dataset',
  model: 'model',
  optimizer: 'optimizer',
  trainer: 'trainer',
  train: 'train',
  analyses: 'analyses',
};

function cartesian(axes: Array<[string, unknown[]]>): Array<Record<string, unknown>> {
  return axes.reduce<Array<Record<string, unknown>>>(
    (points, [key, values]) => points.flatMap((p) => values.map((v) => ({ ...p, [key]: v }))),
    [{}],
  );
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Folder-safe label text. */
function sanitize(text: string): string {
  return text.replace(/[^A-Za-z0-9._=+-]+/g, '-').slice(0, 80);
}

/** Short names for sweep axes in labels: the last path segment, or the whole path if ambiguous. */
function axisNames(keys: string[]): Record<string, string> {
  const last = (k: string) =>
    k
      .split('.')
      .at(-1)!
      .replace(/\[\d+\]/g, '');
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(last(k), (counts.get(last(k)) ?? 0) + 1);
  return Object.fromEntries(keys.map((k) => [k, counts.get(last(k))! > 1 ? k : last(k)]));
}

/** Checks where sweep keys point; returns the parsed paths of the valid ones. */
function sweepPaths(sweep: Record<string, unknown[]>, problems: Problem[]): Map<string, PathKey[]> {
  const paths = new Map<string, PathKey[]>();
  for (const key of Object.keys(sweep)) {
    let path: PathKey[];
    try {
      path = parsePath(key);
    } catch {
      problems.push({
        path: `sweep["${key}"]`,
        message: 'is not a path',
        hint: 'write paths like optimizer.lr or model.layers',
      });
      continue;
    }
    const root = String(path[0]);
    if (!(root in SWEEPABLE) || path.length < 2) {
      problems.push({
        path: `sweep["${key}"]`,
        message: 'a sweep path starts with a part of the run and names a field in it',
        hint: `roots: ${Object.keys(SWEEPABLE).join(', ')}; for seeds use seeds: [...]; for several models or optimizers use models: or optimizers:`,
      });
      continue;
    }
    paths.set(key, path);
  }
  return paths;
}

/**
 * Re-checks the parts of a run that a sweep point changed. Problems come back with the path of
 * the sweep value that caused them: `sweep["optimizer.lr"][1]`.
 */
function recheckRun(
  run: Record<string, unknown>,
  point: Record<string, unknown>,
  pointIndex: Record<string, number>,
  registry: Registry,
  problems: Problem[],
  axisPath: (key: string) => string,
): RunSpec | undefined {
  const blame = (p: Problem): Problem => {
    const key = Object.keys(point).find(
      (k) =>
        p.path === k ||
        p.path.startsWith(`${k}.`) ||
        p.path.startsWith(`${k}[`) ||
        k.startsWith(`${p.path}.`),
    );
    return key === undefined
      ? p
      : { ...p, path: `${axisPath(key)}[${pointIndex[key]}]`, value: point[key] };
  };
  const before = problems.length;
  const ref = (kind: PluginKind, value: unknown, path: string): ResolvedPluginRef | undefined => {
    const { resolved, problems: found } = registry.check(kind, value, path);
    problems.push(...found.map(blame));
    return resolved && refData(resolved);
  };
  const dataset = ref('dataset', run.dataset, 'dataset');
  const model = ref('model', run.model, 'model');
  const optimizer = ref('optimizer', run.optimizer, 'optimizer');
  const trainer = ref('trainer', run.trainer, 'trainer');
  const train = specSchema.shape.train.safeParse(run.train);
  if (!train.success)
    problems.push(
      ...zodProblems(train.error, run.train, specSchema.shape.train, 'train').map(blame),
    );
  const analyses = (run.analyses as Array<Record<string, unknown>>).map(
    (a, i): ResolvedAnalysisRef | undefined => {
      const { every, at, where, ...config } = a;
      // An analysis no sweep value changed is still the resolution it was.
      const resolved = ref('analysis', resolutionOf(a) ? a : config, `analyses[${i}]`);
      return (
        resolved &&
        linkResolution(
          {
            ...resolved,
            ...(every === undefined ? {} : { every: every as number }),
            ...(at === undefined ? {} : { at: at as number[] }),
            ...(where === undefined ? {} : { where: where as RunSelector }),
          },
          resolutionOf(resolved),
        )
      );
    },
  );
  if (problems.length > before || !train.success) return undefined;
  return {
    ...(run as unknown as RunSpec),
    dataset: dataset!,
    model: model!,
    optimizer: optimizer!,
    trainer: trainer!,
    train: train.data,
    analyses: analyses.filter((r): r is ResolvedAnalysisRef => r !== undefined),
  };
}

/** Whether a run is one of those `where` selects (every given criterion holds). */
export function selectsRun(
  where: RunSelector | undefined,
  run: Omit<RunIdentity, 'id' | 'label' | 'group'>,
): boolean {
  if (!where) return true;
  const oneOf = <T>(wanted: T | T[] | undefined, value: T) =>
    wanted === undefined || (Array.isArray(wanted) ? wanted.includes(value) : wanted === value);
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  const values = (
    wanted: Record<string, unknown> | undefined,
    actual: Record<string, unknown> | undefined,
  ) =>
    Object.entries(wanted ?? {}).every(
      ([k, v]) => actual !== undefined && k in actual && same(actual[k], v),
    );
  return (
    oneOf(where.model, run.model) &&
    oneOf(where.optimizer, run.optimizer) &&
    oneOf(where.seed, run.seed) &&
    values(where.sweep, run.sweep) &&
    values(where.tune, run.tune)
  );
}

/** The analyses of a run: those whose `where` selects it, without their `where`. */
function analysesOf(
  analyses: readonly ResolvedAnalysisRef[],
  run: Omit<RunIdentity, 'id' | 'label' | 'group'>,
): ResolvedAnalysisRef[] {
  return analyses
    .filter((a) => selectsRun(a.where, run))
    .map((ref) => {
      const { where: _where, ...a } = ref;
      return linkResolution(a, resolutionOf(ref));
    });
}

/**
 * The tune grid of one optimizer as sweep axes over `optimizer.<path>`; problems (a bad path, a
 * path the sweep already varies) are pushed once, by expandRuns' caller.
 */
function tuneAxes(
  spec: ResolvedSpec,
  optimizer: ResolvedPluginRef,
  sweepKeys: ReadonlySet<string>,
  problems: Problem[],
): Array<{ key: string; name: string; values: unknown[]; path: PathKey[]; display: string }> {
  const grid = spec.tune?.grid[optimizer.label] ?? {};
  return Object.entries(grid).flatMap(([name, values]) => {
    const key = `optimizer.${name}`;
    const display = `tune.grid.${optimizer.label}["${name}"]`;
    let path: PathKey[];
    try {
      path = parsePath(key);
    } catch {
      problems.push({
        path: display,
        message: 'is not a config path',
        hint: 'write lr, b1, or a.b[0]',
      });
      return [];
    }
    if (sweepKeys.has(key)) {
      problems.push({
        path: display,
        message: `the sweep varies ${key} too`,
        hint: 'tune a value or sweep it, not both',
      });
      return [];
    }
    return [{ key, name, values, path, display }];
  });
}

/** Tune grid labels that name no optimizer. */
function checkTuneLabels(spec: ResolvedSpec, problems: Problem[]): void {
  const labels = spec.optimizers.map((o) => o.label);
  for (const label of Object.keys(spec.tune?.grid ?? {})) {
    if (!labels.includes(label))
      problems.push({
        path: `tune.grid.${label}`,
        message: `names no optimizer of the spec (got "${label}")`,
        hint: `optimizer labels: ${labels.join(', ')}`,
      });
  }
}

/** All runs of a resolved experiment, with their ids. Problems of sweep values are pushed to `problems`. */
export function expandRuns(
  spec: ResolvedSpec,
  registry: Registry,
  problems: Problem[],
): PlannedRun[] {
  const paths = sweepPaths(spec.sweep, problems);
  checkTuneLabels(spec, problems);
  const sweepAxes = Object.entries(spec.sweep).filter(([k]) => paths.has(k));
  const names = axisNames(sweepAxes.map(([k]) => k));
  const runs: PlannedRun[] = [];
  const reported = new Set<string>();
  const report = (p: Problem) => {
    const text = `${p.path}\u0000${p.message}`;
    if (!reported.has(text)) problems.push(p);
    reported.add(text);
  };
  const tunedAxes = new Map(
    spec.optimizers.map((o) => [o.label, tuneAxes(spec, o, new Set(paths.keys()), problems)]),
  );
  for (const model of spec.models) {
    // Resolution made sure that a model without a dataset of its own has the spec's.
    const { dataset: own, ...rest } = model;
    const modelRef = linkResolution(rest, resolutionOf(model));
    const runDataset = own ?? spec.dataset!;
    for (const optimizer of spec.optimizers) {
      const tuned = tunedAxes.get(optimizer.label)!;
      const axes: Array<[string, unknown[]]> = [
        ...sweepAxes,
        ...tuned.map((t): [string, unknown[]] => [t.key, t.values]),
      ];
      const axisPath = (key: string) =>
        tuned.find((t) => t.key === key)?.display ?? `sweep["${key}"]`;
      const pathOf = (key: string) => paths.get(key) ?? tuned.find((t) => t.key === key)!.path;
      for (const point of cartesian(axes)) {
        const pointIndex = Object.fromEntries(
          axes.map(([k, values]) => [k, values.indexOf(point[k])]),
        );
        let run: RunSpec | undefined = {
          name: spec.name,
          ...(spec.description === undefined ? {} : { description: spec.description }),
          seed: spec.seeds[0]!,
          plugins: spec.plugins,
          backend: spec.backend,
          trainer: spec.trainer,
          dataset: runDataset,
          model: modelRef,
          optimizer,
          train: spec.train,
          analyses: spec.analyses,
        };
        if (axes.length > 0) {
          let raw: Record<string, unknown> = {
            ...run,
            dataset: flattenRef(runDataset),
            model: flattenRef(modelRef),
            optimizer: flattenRef(optimizer),
            trainer: flattenRef(spec.trainer),
            analyses: spec.analyses.map(flattenAnalysisRef),
          };
          const found: Problem[] = [];
          for (const [key] of axes) {
            try {
              raw = setPath(raw, pathOf(key), point[key]);
            } catch (error) {
              found.push({
                path: axisPath(key),
                message: error instanceof Error ? error.message : String(error),
                ...(isTdxError(error) && error.hint ? { hint: error.hint } : {}),
              });
            }
          }
          run =
            found.length > 0
              ? undefined
              : recheckRun(raw, point, pointIndex, registry, found, axisPath);
          found.forEach(report);
        }
        if (!run) continue;
        // Schedules were checked against train.steps already, unless a sweep changes it.
        const stepsSwept = axes.some(([k]) => k.startsWith('train.'));
        for (const [j, a] of stepsSwept ? run.analyses.entries() : []) {
          for (const [k, t] of (a.at ?? []).entries()) {
            if (t > run.train.steps)
              report({
                path: joinPath(`analyses[${j}]`, `at[${k}]`),
                message: `is after the last step (train.steps = ${run.train.steps})`,
                value: t,
              });
          }
        }
        const sweep = Object.fromEntries(sweepAxes.map(([k]) => [k, point[k]]));
        const tune = Object.fromEntries(tuned.map((t) => [t.name, point[t.key]]));
        for (const seed of spec.seeds) {
          const who = {
            seed,
            model: model.label,
            optimizer: optimizer.label,
            sweep,
            ...(tuned.length > 0 ? { tune } : {}),
          };
          const seeded: RunSpec = { ...run, seed, analyses: analysesOf(run.analyses, who) };
          const labels = seeded.analyses.map((a) => a.label);
          const shared = labels.find((l, i) => labels.indexOf(l) !== i);
          if (shared !== undefined)
            report({
              path: 'analyses',
              message: `two analyses labelled "${shared}" select the same run (model ${model.label}, optimizer ${optimizer.label}, seed ${seed})`,
              hint: 'analyses that share a label must have where: clauses that never select the same run',
            });
          const parts = [
            ...(spec.models.length > 1 ? [model.label] : []),
            optimizer.label,
            ...sweepAxes.map(([k]) => `${names[k]}=${formatValue(point[k])}`),
            ...tuned.map((t) => `${t.name}=${formatValue(point[t.key])}`),
          ];
          const group = sanitize(parts.join('_'));
          const label = spec.seeds.length > 1 ? sanitize(`${group}_seed=${seed}`) : group;
          const id = `${label}-${hashOf(runSpecToJson(seeded))}`;
          if (runs.some((r) => r.id === id)) {
            // The same run twice (a sweep listing a value twice): one folder, written at once.
            const axis = axes.find(
              ([k, values]) =>
                values.filter((v) => formatValue(v) === formatValue(point[k])).length > 1,
            );
            report({
              path: axis ? `${axisPath(axis[0])}[${axis[1].lastIndexOf(point[axis[0]])}]` : '',
              message:
                'gives the same run as an earlier value: the spec would run it twice into one folder',
              ...(axis ? { value: point[axis[0]] } : {}),
              hint: 'list each value once',
            });
            continue;
          }
          runs.push({
            id,
            label,
            group,
            seed,
            model: model.label,
            optimizer: optimizer.label,
            sweep,
            ...(tuned.length > 0 ? { tune } : {}),
            spec: seeded,
          });
        }
      }
    }
  }
  // A `where` that selects no run is a typo (a label, a value not in the grid).
  for (const [i, a] of spec.analyses.entries()) {
    if (a.where && !runs.some((r) => selectsRun(a.where, r)))
      report({
        path: `analyses[${i}].where`,
        message: 'selects no run of this spec',
        value: a.where,
        hint: `models: ${spec.models.map((m) => m.label).join(', ')}; optimizers: ${spec.optimizers.map((o) => o.label).join(', ')}; seeds: ${spec.seeds.join(', ')}`,
      });
  }
  return runs;
}
