/**
 * The plugin instances of one run, created from its spec with the seeds the spec implies. The
 * run executor and the analysis workers both build runs this way, so a worker's dataset and
 * model are the run's own.
 */
import type { AnalysisInstance, TrainerInstance, TrainingSession } from './contracts.js';
import { TdxError } from './errors.js';
import type { PluginKind } from './plugin.js';
import type { Registry } from './registry.js';
import { deriveSeed } from './seeds.js';
import type { ResolvedPluginRef } from './registry.js';
import { flattenRef, type RunSpec } from './spec/schema.js';

export function expectMethods<T>(
  instance: unknown,
  methods: string[],
  kind: PluginKind,
  name: string,
): T {
  for (const m of methods) {
    if (typeof (instance as Record<string, unknown> | null)?.[m] !== 'function') {
      throw new TdxError(
        'PLUGIN_CONTRACT',
        `${kind} plugin "${name}" returned an instance without ${m}()`,
        {
          hint: `a ${kind} instance must have: ${methods.join(', ')}`,
        },
      );
    }
  }
  return instance as T;
}

export interface RunParts {
  dataset: unknown;
  model: unknown;
  /** Created on demand: analysis workers never train, so they never need it. */
  optimizer: () => unknown;
  analyses: AnalysisInstance[];
  trainer: TrainerInstance;
}

/** Creates every plugin of a run in `registry` (give each run a child registry). */
export function createRunParts(spec: RunSpec, registry: Registry): RunParts {
  const create = (kind: PluginKind, ref: ResolvedPluginRef, path: string, seedLabel: string) =>
    registry.create(kind, flattenRef(ref), { path, seed: deriveSeed(spec.seed, seedLabel) });
  const dataset = create('dataset', spec.dataset, 'dataset', 'dataset');
  const model = create('model', spec.model, 'model', 'model');
  const analyses = spec.analyses.map((ref, i) =>
    expectMethods<AnalysisInstance>(
      create('analysis', ref, `analyses[${i}]`, `analysis:${ref.label}`),
      ['run'],
      'analysis',
      ref.name,
    ),
  );
  const trainer = expectMethods<TrainerInstance>(
    create('trainer', spec.trainer, 'trainer', 'trainer'),
    ['start'],
    'trainer',
    spec.trainer.name,
  );
  return {
    dataset,
    model,
    optimizer: () => create('optimizer', spec.optimizer, 'optimizer', 'optimizer'),
    analyses,
    trainer,
  };
}

/** Starts the trainer's session on the parts, with `optimizer` (the spec's, or a stand-in). */
export async function startSession(
  spec: RunSpec,
  parts: RunParts,
  optimizer: unknown,
): Promise<TrainingSession> {
  return expectMethods<TrainingSession>(
    await parts.trainer.start({
      dataset: parts.dataset,
      model: parts.model,
      optimizer,
      seed: spec.seed,
      steps: spec.train.steps,
    }),
    ['step', 'loss', 'evalLoss', 'target', 'dispose'],
    'trainer',
    spec.trainer.name,
  );
}
