/**
 * The plugin contract: everything in tdx that varies is a plugin of one kind.
 */
import type { z } from 'zod';
import type {
  AnalysisInstance,
  BackendInstance,
  ReporterInstance,
  TrainerInstance,
} from './contracts.js';
import type { EstimateContext, ResourceEstimate } from './estimate.js';
import { TdxError } from './errors.js';
import type { PluginRef } from './plugin-ref.js';
import type { Registry } from './registry.js';

export const PLUGIN_KINDS = [
  'backend',
  'trainer',
  'dataset',
  'model',
  'attention-kernel',
  'optimizer',
  'analysis',
  'reporter',
] as const;

export type PluginKind = (typeof PLUGIN_KINDS)[number];

/**
 * What `create` returns, by plugin kind. The core declares the kinds whose contracts it owns;
 * the package that owns the others adds them by declaration merging (@tdx/tensor adds
 * `dataset`, `model`, `attention-kernel` and `optimizer`):
 *
 *     declare module '@tdx/core' { interface PluginInstances { model: ModelBuilder } }
 *
 * definePlugin then checks a plugin's create against its kind, and `registry.create('model', ref)`
 * returns a ModelBuilder.
 */
export interface PluginInstances {
  backend: BackendInstance;
  trainer: TrainerInstance;
  analysis: AnalysisInstance;
  reporter: ReporterInstance;
}

/** The instance type of a kind: its PluginInstances entry, unknown for a kind nobody typed. */
export type InstanceOf<K extends PluginKind> = K extends keyof PluginInstances
  ? PluginInstances[K]
  : unknown;

declare const nestedKind: unique symbol;

/**
 * The output type of a `pluginRef(kind)` config field: the reference as the spec writes it,
 * marked with its kind so that `create` receives the instance in its place (see Injected).
 */
export type NestedRef<K extends PluginKind> = PluginRef & { readonly [nestedKind]: K };

type InjectField<T> = T extends { readonly [nestedKind]: infer K extends PluginKind }
  ? InstanceOf<K>
  : T;

/**
 * The config `create` receives: the parsed config with each nested plugin reference (a field
 * declared with pluginRef) replaced by the instance the registry created for it.
 */
export type Injected<Config> = 0 extends 1 & Config
  ? Config
  : Config extends object
    ? { [P in keyof Config]: InjectField<Config[P]> }
    : Config;

/**
 * Keys a plugin reference in a spec uses for itself, so no plugin config may define them:
 * `name` picks the plugin, `label` names the instance (run ids, metric keys), an analysis's
 * `every`/`at` schedule it and its `where` picks the runs it runs in.
 */
export const RESERVED_CONFIG_KEYS: Readonly<Record<PluginKind, readonly string[]>> = {
  backend: ['name', 'label'],
  trainer: ['name', 'label'],
  dataset: ['name', 'label'],
  model: ['name', 'label'],
  'attention-kernel': ['name', 'label'],
  optimizer: ['name', 'label'],
  analysis: ['name', 'label', 'every', 'at', 'where'],
  reporter: ['name', 'label'],
};

/** What `create` receives besides its validated config. */
export interface PluginContext {
  /** The registry of the run: create nested plugins (an attention kernel inside a model) here. */
  registry: Registry;
  /** A seed for this plugin's random draws, derived from the spec's seed. */
  seed: number;
  /** Where this plugin's reference sits in the spec (`model`, `optimizers[1]`), for messages. */
  path: string;
}

export interface Plugin<
  Config = unknown,
  Instance = unknown,
  Kind extends PluginKind = PluginKind,
> {
  readonly kind: Kind;
  /** kebab-case, unique within its kind. */
  readonly name: string;
  /** One line: what it is, with the formula or paper where there is one. */
  readonly description: string;
  /**
   * A short name for people, for figure and axis titles (`top Hessian eigenvalue`); reports
   * fall back to `name` without it (see pluginTitle).
   */
  readonly title?: string;
  /** Validates the config and fills in defaults. */
  readonly config: z.ZodType<Config>;
  /**
   * Creates the instance from the checked config; nested references (pluginRef fields) arrive
   * as the instances the registry created for them (an AttentionKernel, a Dataset).
   */
  create(config: Injected<Config>, ctx: PluginContext): Instance;
  /**
   * Optional: what an instance with this config will cost (parameters, memory, work per
   * step), from the config alone, without creating anything. tdx adds up the estimates of a
   * run's plugins and refuses a spec that cannot fit before any work starts (see estimate.ts).
   */
  estimate?(config: Config, ctx: EstimateContext): ResourceEstimate;
  /** Former names specs may still use; resolving one adds a notice naming the new name. */
  readonly aliases?: readonly string[];
  /** Former config keys and their new names (`{ temperature: 'scale' }`), accepted with a notice. */
  readonly renamedKeys?: Readonly<Record<string, string>>;
}

// The registry stores plugins of any config type side by side.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlugin = Plugin<any, unknown>;

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * Declares a plugin, checking the declaration itself: the kind exists, the name is
 * kebab-case, and the config does not claim a key the spec reserves. The type checks that
 * create returns its kind's instance (PluginInstances).
 */
export function definePlugin<
  K extends PluginKind,
  S extends z.ZodType,
  I extends InstanceOf<K>,
>(plugin: {
  kind: K;
  name: string;
  description: string;
  title?: string;
  config: S;
  create: (config: Injected<z.output<S>>, ctx: PluginContext) => I;
  estimate?(config: z.output<S>, ctx: EstimateContext): ResourceEstimate;
  aliases?: readonly string[];
  renamedKeys?: Readonly<Record<string, string>>;
}): Plugin<z.output<S>, I, K> {
  assertPluginShape(plugin);
  // The schema's output type is the config type create() receives.
  return Object.freeze({ ...plugin }) as unknown as Plugin<z.output<S>, I, K>;
}

/** What people call a plugin: its short `title`, else its `name`. */
export function pluginTitle(plugin: Pick<AnyPlugin, 'name' | 'title'>): string {
  return plugin.title?.trim() || plugin.name;
}

/** Throws PLUGIN_CONTRACT when `value` is not a well-formed plugin. */
export function assertPluginShape(value: unknown, source = 'a plugin'): asserts value is AnyPlugin {
  const fail = (what: string): never => {
    throw new TdxError('PLUGIN_CONTRACT', `${source} is not a valid tdx plugin: ${what}`, {
      hint: 'a plugin is definePlugin({ kind, name, description, config, create }) from @tdx/core',
    });
  };
  if (value === null || typeof value !== 'object') fail('expected an object');
  const p = value as Record<string, unknown>;
  if (!(PLUGIN_KINDS as readonly unknown[]).includes(p.kind))
    fail(`kind ${JSON.stringify(p.kind)} is not one of ${PLUGIN_KINDS.join(', ')}`);
  if (typeof p.name !== 'string' || !KEBAB.test(p.name))
    fail(`name ${JSON.stringify(p.name)} must be kebab-case (e.g. "my-optimizer")`);
  if (typeof p.description !== 'string' || p.description.trim() === '')
    fail(`plugin "${String(p.name)}" needs a one-line description`);
  if (p.title !== undefined && (typeof p.title !== 'string' || p.title.trim() === ''))
    fail(`plugin "${String(p.name)}" has a title that is not a non-empty string`);
  const config = p.config as { safeParse?: unknown } | undefined;
  if (!config || typeof config.safeParse !== 'function')
    fail(`plugin "${String(p.name)}" needs a zod schema as config`);
  if (typeof p.create !== 'function')
    fail(`plugin "${String(p.name)}" needs a create(config, ctx) function`);
  if (p.estimate !== undefined && typeof p.estimate !== 'function')
    fail(`plugin "${String(p.name)}" has an estimate that is not a function`);
  const shape = (config as { shape?: Record<string, unknown> }).shape;
  if (shape) {
    const reserved = RESERVED_CONFIG_KEYS[p.kind as PluginKind];
    const clash = Object.keys(shape).filter((k) => reserved.includes(k));
    if (clash.length > 0)
      fail(
        `plugin "${String(p.name)}" config uses reserved key(s) ${clash.join(', ')} (reserved: ${reserved.join(', ')})`,
      );
  }
}
