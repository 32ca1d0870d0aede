/**
 * The plugin registry, on tsyringe: one token per kind, one child container per run.
 */
import 'reflect-metadata';
import { container as globalContainer, type DependencyContainer } from 'tsyringe';
import { TdxError, joinPath, type Problem } from './errors.js';
import {
  assertPluginShape,
  PLUGIN_KINDS,
  RESERVED_CONFIG_KEYS,
  type AnyPlugin,
  type PluginKind,
} from './plugin.js';
import { choicesHint } from './suggest.js';
import { nestedPluginKind } from './plugin-ref.js';
import { objectKeys, objectShape, zodProblems } from './zod-problems.js';

/** A reference to a plugin as a spec writes it: `{ name, label?, ...config }`. */
export interface PluginRef {
  name: string;
  label?: string;
  [key: string]: unknown;
}

/** A reference checked against its plugin: the config with defaults, and the label. */
export interface ResolvedRef<Config = unknown> {
  plugin: AnyPlugin;
  config: Config;
  label: string;
}

export interface CreateOptions {
  /** Where the reference sits in the spec, to prefix error paths. */
  path?: string;
  /** Seed handed to the plugin; 0 when not given. */
  seed?: number;
}

const tokenFor = (kind: PluginKind): string => `tdx:plugin:${kind}`;

export class Registry {
  private constructor(
    private readonly container: DependencyContainer,
    readonly parent: Registry | undefined,
  ) {}

  /** A fresh registry. It never touches tsyringe's global container, only a child of it. */
  static create(): Registry {
    return new Registry(globalContainer.createChildContainer(), undefined);
  }

  /** A registry that sees this one's plugins and keeps its own registrations to itself. */
  child(): Registry {
    return new Registry(this.container.createChildContainer(), this);
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
      this.container.register(tokenFor(plugin.kind), { useValue: plugin });
    }
    return this;
  }

  /**
   * Plugins of one kind (or all kinds), ancestors' first. tsyringe's resolveAll on a child
   * returns only the child's list once it has any registration, so the merge is explicit.
   */
  list(kind?: PluginKind): AnyPlugin[] {
    if (kind === undefined) return PLUGIN_KINDS.flatMap((k) => this.list(k));
    const inherited = this.parent ? this.parent.list(kind) : [];
    const token = tokenFor(kind);
    const own = this.container.isRegistered(token, false)
      ? this.container.resolveAll<AnyPlugin>(token)
      : [];
    return [...inherited, ...own];
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
    const notices: string[] = [];
    const result = this.checkInto(kind, ref, path, notices);
    return { ...result, notices };
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
    if (ref === null || typeof ref !== 'object' || Array.isArray(ref)) {
      return {
        problems: [
          { path, message: `expected a ${kind} reference like { name: ... }`, value: ref },
        ],
      };
    }
    const { name, label, ...rest } = ref as Record<string, unknown>;
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
    const config = parsed.success
      ? this.resolveNested(plugin, parsed.data, path, problems, notices)
      : {};
    if (problems.length > 0) return { problems };
    return {
      resolved: { plugin, config, label: typeof label === 'string' ? label : name },
      problems,
    };
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
  ): unknown {
    const shape = objectShape(plugin.config);
    if (!shape || config === null || typeof config !== 'object') return config;
    const out = { ...(config as Record<string, unknown>) };
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
      if (resolved)
        out[key] = {
          name: resolved.plugin.name,
          label: resolved.label,
          ...(resolved.config as Record<string, unknown>),
        };
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
    const name = (ref as { name?: unknown } | null)?.name;
    throw new TdxError(
      unknown ? 'PLUGIN_UNKNOWN' : 'PLUGIN_CONFIG',
      unknown
        ? `unknown ${kind} "${String(name)}"`
        : `invalid config for ${kind} "${String(name)}"`,
      { problems },
    );
  }

  /**
   * Validates a reference and creates the plugin's instance. The caller knows which
   * contract the kind fulfils and says so with the type parameter.
   */
  create<Instance = unknown>(
    kind: PluginKind,
    ref: unknown,
    options: CreateOptions = {},
  ): Instance {
    const path = options.path ?? kind;
    const { plugin, config } = this.resolve(kind, ref, path);
    return plugin.create(config, { registry: this, seed: options.seed ?? 0, path }) as Instance;
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
