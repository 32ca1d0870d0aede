/**
 * The plugin registry: plugins by kind, a child registry per experiment and per run. A
 * reference is resolved once (plugin found, config checked, defaults filled in, nested
 * references resolved) and instances are created from that resolution, with the instances of
 * nested references handed to `create` in their config.
 */
import { TdxError, joinPath, type Problem } from './errors.js';
import {
  assertPluginShape,
  PLUGIN_KINDS,
  RESERVED_CONFIG_KEYS,
  type AnyPlugin,
  type InstanceOf,
  type PluginKind,
} from './plugin.js';
import { choicesHint } from './suggest.js';
import { nestedPluginKind } from './plugin-ref.js';
import { objectKeys, objectShape, zodProblems } from './zod-problems.js';

/**
 * A reference checked against its plugin, as data: the plugin's name, the label, and the
 * config with every default filled in (nested references in it as `{ name, label, ...config }`).
 * This is what a resolved spec holds and what travels (spec.json, run processes, queue jobs);
 * in the process that checked it, it stands for its ResolvedRef (see linkResolution).
 */
export interface ResolvedPluginRef {
  name: string;
  label: string;
  config: Record<string, unknown>;
}

/**
 * A reference checked once, in this process: its data, the plugin, and the resolutions of the
 * nested references by config key. `registry.create` takes it as it is, without checking the
 * config again.
 */
export interface ResolvedRef extends ResolvedPluginRef {
  plugin: AnyPlugin;
  nested: Readonly<Record<string, ResolvedRef>>;
}

export interface CreateOptions {
  /** Where the reference sits in the spec, to prefix error paths. */
  path?: string;
  /** Seed handed to the plugin; 0 when not given. */
  seed?: number;
}

/** Resolutions made by a registry, and the objects known to stand for one (see linkResolution). */
const resolutions = new WeakMap<object, ResolvedRef>();

/**
 * Records that `ref` (a reference object that will not change: a resolved spec's
 * `{ name, label, config }`, its flattened form) stands for `resolved`, so that checking or
 * creating it again uses the resolution instead of parsing the config again. Returns `ref`.
 */
export function linkResolution<T extends object>(ref: T, resolved: ResolvedRef | undefined): T {
  if (resolved) resolutions.set(ref, resolved);
  return ref;
}

/** The resolution `ref` is, or stands for (see linkResolution); undefined for anything else. */
export function resolutionOf(ref: unknown): ResolvedRef | undefined {
  return ref !== null && typeof ref === 'object' ? resolutions.get(ref) : undefined;
}

/** The data of a resolution (`{ name, label, config }`), standing for it. */
export function refData(resolved: ResolvedRef): ResolvedPluginRef {
  const { name, label, config } = resolved;
  return linkResolution({ name, label, config }, resolved);
}

/** A resolution as a spec writes it back (`{ name, label, ...config }`), standing for it. */
export function writtenRef(resolved: ResolvedRef): Record<string, unknown> {
  const { name, label, config } = resolved;
  return linkResolution({ name, label, ...config }, resolved);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether `value` is data JSON writes and reads back unchanged (so its text identifies it). */
function isJsonData(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(isJsonData);
  if (typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && Object.values(value).every(isJsonData);
}

/** The text that identifies a reference of `kind`, or undefined when it is not plain data. */
function refKey(kind: PluginKind, ref: unknown): string | undefined {
  return isJsonData(ref) ? `${kind}\u0000${JSON.stringify(ref)}` : undefined;
}

export class Registry {
  private readonly own = new Map<PluginKind, AnyPlugin[]>();
  /**
   * Successful resolutions by the reference's text: as the spec wrote it, and as it is written
   * back (`{ name, label, ...config }`, in experiment.json, which reporters read). A name
   * cannot be taken twice, so a resolution stays valid as plugins are added, and in children.
   */
  private readonly resolved = new Map<string, ResolvedRef>();

  private constructor(readonly parent: Registry | undefined) {}

  /** A fresh registry. */
  static create(): Registry {
    return new Registry(undefined);
  }

  /** A registry that sees this one's plugins and keeps its own registrations to itself. */
  child(): Registry {
    return new Registry(this);
  }

  /** Registers plugins. A name already taken in this registry or an ancestor is an error. */
  register(...plugins: readonly AnyPlugin[]): this {
    for (const plugin of plugins) {
      assertPluginShape(plugin);
      const existing = this.find(plugin.kind, plugin.name);
      if (existing) {
        if (existing === plugin) continue; // registering the same object twice is harmless
        throw new TdxError(
          'PLUGIN_DUPLICATE',
          `a ${plugin.kind} plugin named "${plugin.name}" is already registered`,
          { hint: 'give the new plugin a different name' },
        );
      }
      for (const alias of plugin.aliases ?? []) {
        const taken = this.find(plugin.kind, alias);
        if (taken)
          throw new TdxError(
            'PLUGIN_DUPLICATE',
            `the former name "${alias}" of ${plugin.kind} "${plugin.name}" is already taken by "${taken.name}"`,
            { hint: 'a former name must not be another plugin’s name or former name' },
          );
      }
      const list = this.own.get(plugin.kind);
      if (list) list.push(plugin);
      else this.own.set(plugin.kind, [plugin]);
    }
    return this;
  }

  /** Plugins of one kind (or all kinds), ancestors' first. */
  list(kind?: PluginKind): AnyPlugin[] {
    if (kind === undefined) return PLUGIN_KINDS.flatMap((k) => this.list(k));
    const inherited = this.parent ? this.parent.list(kind) : [];
    return [...inherited, ...(this.own.get(kind) ?? [])];
  }

  names(kind: PluginKind): string[] {
    return this.list(kind).map((p) => p.name);
  }

  /** The plugin named `name`, or else the one that lists `name` among its former names. */
  find(kind: PluginKind, name: string): AnyPlugin | undefined {
    const plugins = this.list(kind);
    return plugins.find((p) => p.name === name) ?? plugins.find((p) => p.aliases?.includes(name));
  }

  /** The plugin of this kind and name, or PLUGIN_UNKNOWN naming the choices. */
  get(kind: PluginKind, name: string, path = ''): AnyPlugin {
    const plugin = this.find(kind, name);
    if (plugin) return plugin;
    const problem = this.unknownNameProblem(kind, name, path);
    throw new TdxError('PLUGIN_UNKNOWN', `unknown ${kind} "${name}"`, { problems: [problem] });
  }

  /**
   * Checks a reference without creating anything: the plugin exists, the keys are known,
   * the config parses. Returns the problems found (empty when it is fine) or the resolution.
   */
  check(
    kind: PluginKind,
    ref: unknown,
    path = '',
  ): { resolved?: ResolvedRef; problems: Problem[]; notices: string[] } {
    // A reference resolved before (and unchanged since): its notices were given then.
    const known = resolutionOf(ref) ?? this.resolvedBefore(refKey(kind, ref));
    if (known && known.plugin.kind === kind) return { resolved: known, problems: [], notices: [] };
    const notices: string[] = [];
    const result = this.checkInto(kind, ref, path, notices);
    const { resolved } = result;
    // A reference that gave notices (a former name) is checked again, to give them again.
    if (resolved && notices.length === 0) {
      for (const key of [refKey(kind, ref), refKey(kind, writtenRef(resolved))])
        if (key !== undefined) this.resolved.set(key, resolved);
    }
    return { ...result, notices };
  }

  private resolvedBefore(key: string | undefined): ResolvedRef | undefined {
    if (key === undefined) return undefined;
    return this.resolved.get(key) ?? this.parent?.resolvedBefore(key);
  }

  private checkInto(
    kind: PluginKind,
    ref: unknown,
    path: string,
    notices: string[],
  ): { resolved?: ResolvedRef; problems: Problem[] } {
    if (ref === undefined) {
      return {
        problems: [
          {
            path,
            message: `required: a ${kind} reference like { name: ... }`,
            hint: `${kind} choices: ${this.names(kind).join(', ') || 'none registered'}`,
          },
        ],
      };
    }
    if (typeof ref === 'string') return this.checkInto(kind, { name: ref }, path, notices);
    if (!isRecord(ref)) {
      return {
        problems: [
          { path, message: `expected a ${kind} reference like { name: ... }`, value: ref },
        ],
      };
    }
    const { name, label, ...rest } = ref;
    if (typeof name !== 'string' || name === '') {
      return {
        problems: [
          {
            path: joinPath(path, 'name'),
            message:
              name === undefined ? `required (the ${kind} to use)` : 'expected a plugin name',
            ...(name === undefined ? {} : { value: name }),
            hint: `${kind} choices: ${this.names(kind).join(', ') || 'none registered'}`,
          },
        ],
      };
    }
    const plugin = this.find(kind, name);
    if (!plugin) return { problems: [this.unknownNameProblem(kind, name, path)] };
    if (plugin.name !== name)
      notices.push(
        `${joinPath(path, 'name')}: ${kind} "${name}" is now called "${plugin.name}"; the old name still works`,
      );
    const problems: Problem[] = [];
    if (
      label !== undefined &&
      (typeof label !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(label))
    ) {
      problems.push({
        path: joinPath(path, 'label'),
        message: 'must be a short name of letters, digits, ".", "_" or "-"',
        value: label,
      });
    }
    // Unknown keys are typos whether or not the plugin's schema is strict.
    const reserved = RESERVED_CONFIG_KEYS[kind];
    const configInput = Object.fromEntries(
      Object.entries(rest).filter(([k]) => !reserved.includes(k)),
    );
    for (const [old, renamed] of Object.entries(plugin.renamedKeys ?? {})) {
      if (!(old in configInput)) continue;
      if (renamed in configInput) {
        problems.push({
          path: joinPath(path, old),
          message: `"${old}" is the former name of "${renamed}", which is given too`,
          hint: `keep only ${renamed}`,
        });
      } else {
        configInput[renamed] = configInput[old];
        notices.push(
          `${joinPath(path, old)}: "${old}" is now called "${renamed}"; the old name still works`,
        );
      }
      delete configInput[old];
    }
    const allowed = objectKeys(plugin.config);
    if (allowed) {
      for (const key of Object.keys(configInput)) {
        if (!allowed.includes(key)) {
          problems.push({
            path: joinPath(path, key),
            message: `unknown key for ${kind} "${name}"`,
            hint: choicesHint(key, allowed, 'allowed keys'),
          });
          delete configInput[key];
        }
      }
    }
    const parsed = plugin.config.safeParse(configInput);
    if (!parsed.success)
      problems.push(...zodProblems(parsed.error, configInput, plugin.config, path));
    const nested: Record<string, ResolvedRef> = {};
    const config = parsed.success
      ? this.resolveNested(plugin, parsed.data, path, problems, notices, nested)
      : {};
    if (problems.length > 0) return { problems };
    const resolved: ResolvedRef = {
      name: plugin.name,
      label: typeof label === 'string' ? label : name,
      config,
      plugin,
      nested,
    };
    return { resolved: linkResolution(resolved, resolved), problems };
  }

  /**
   * Checks the plugin references inside a parsed config (fields declared with pluginRef) and
   * replaces each with its resolved `{ name, label, ...config }`, defaults filled in.
   */
  private resolveNested(
    plugin: AnyPlugin,
    config: unknown,
    path: string,
    problems: Problem[],
    notices: string[],
    nested: Record<string, ResolvedRef>,
  ): Record<string, unknown> {
    if (!isRecord(config)) {
      // A spec writes a config as `{ name, ...config }`: only an object fits there.
      problems.push({
        path,
        message: `the config schema of ${plugin.kind} "${plugin.name}" gives ${config === null ? 'null' : typeof config}, not an object`,
        hint: 'a plugin config is a z.object(...) schema',
      });
      return {};
    }
    const shape = objectShape(plugin.config);
    const out = { ...config };
    if (!shape) return out;
    for (const [key, field] of Object.entries(shape)) {
      const kind = nestedPluginKind(field);
      if (!kind || out[key] === undefined) continue;
      const { resolved, problems: found } = this.checkInto(
        kind,
        out[key],
        joinPath(path, key),
        notices,
      );
      problems.push(...found);
      if (resolved) {
        nested[key] = resolved;
        out[key] = writtenRef(resolved);
      }
    }
    return out;
  }

  /** Like check, but throws PLUGIN_UNKNOWN / PLUGIN_CONFIG with every problem found. */
  resolve(kind: PluginKind, ref: unknown, path = ''): ResolvedRef {
    const { resolved, problems } = this.check(kind, ref, path);
    if (resolved) return resolved;
    const unknown = problems.some(
      (p) => p.message.startsWith('unknown ') && p.path.endsWith('name'),
    );
    const name = typeof ref === 'string' ? ref : isRecord(ref) ? ref.name : undefined;
    throw new TdxError(
      unknown ? 'PLUGIN_UNKNOWN' : 'PLUGIN_CONFIG',
      unknown
        ? `unknown ${kind} "${String(name)}"`
        : `invalid config for ${kind} "${String(name)}"`,
      { problems },
    );
  }

  /**
   * Creates the plugin's instance from a reference: one resolved before (a ResolvedRef, or an
   * object linked to one) as it is, anything else validated first (see resolve). The
   * instances of nested references are created first, with the same seed, and handed to
   * `create` in the config. The kind gives the instance type (PluginInstances).
   */
  create<K extends PluginKind>(kind: K, ref: unknown, options?: CreateOptions): InstanceOf<K>;
  /**
   * @deprecated the kind gives the type (PluginInstances): write `create('model', ref)`. This
   * form names the type and is not checked.
   */
  create<Instance>(kind: PluginKind, ref: unknown, options?: CreateOptions): Instance;
  create(kind: PluginKind, ref: unknown, options: CreateOptions = {}): unknown {
    const path = options.path ?? kind;
    return this.instantiate(this.resolve(kind, ref, path), path, options.seed ?? 0);
  }

  private instantiate(resolved: ResolvedRef, path: string, seed: number): unknown {
    const { plugin, config, nested } = resolved;
    const keys = Object.keys(nested);
    if (keys.length === 0) return plugin.create(config, { registry: this, seed, path });
    const injected = { ...config };
    for (const key of keys)
      injected[key] = this.instantiate(nested[key]!, joinPath(path, key), seed);
    return plugin.create(injected, { registry: this, seed, path });
  }

  private unknownNameProblem(kind: PluginKind, name: string, path: string): Problem {
    return {
      path: joinPath(path, 'name'),
      message: `unknown ${kind}`,
      value: name,
      hint: `${choicesHint(name, this.names(kind), `${kind} choices`)}; a plugin module listed under "plugins" can add more`,
    };
  }
}

/** A registry with nothing registered. Packages add their built-ins with `register(registry)`. */
export function createRegistry(): Registry {
  return Registry.create();
}
