/**
 * A plugin reference inside another plugin's config (an attention kernel inside a model). The
 * registry checks it like a top-level reference when it checks the outer config, so a bad
 * kernel name or option fails before any run starts, with its full path
 * (`model.attention.scale`), and the resolved config carries the inner plugin's defaults.
 */
import { z } from 'zod';
import type { NestedRef, PluginKind } from './plugin.js';
import { unwrapSchema } from './zod-problems.js';

const nestedKinds = new WeakMap<z.ZodType, PluginKind>();

/**
 * A plugin reference as a spec writes it, at the top level (`model: ...`) or inside another
 * plugin's config (`attention: ...`): a name, or `{ name, label?, ...config }`.
 */
export type PluginRef = string | { name: string; label?: string; [key: string]: unknown };

/**
 * A config field that names a plugin of `kind`: a name, or `{ name, ...config }`.
 * With `defaultName`, the field may be left out. The registry resolves the reference with the
 * outer one and hands `create` the instance (typed InstanceOf<kind>) in its place; the
 * resolved config (spec.json, `estimate`) holds the reference `{ name, label, ...config }`.
 */
export function pluginRef<K extends PluginKind>(kind: K): z.ZodType<NestedRef<K>, PluginRef>;
export function pluginRef<K extends PluginKind>(
  kind: K,
  defaultName: string,
): z.ZodDefault<z.ZodType<NestedRef<K>, PluginRef>>;
export function pluginRef(kind: PluginKind, defaultName?: string): z.ZodType {
  const schema: z.ZodType<PluginRef> = z.union([
    z.string().min(1),
    z.looseObject({ name: z.string().min(1) }),
  ]);
  nestedKinds.set(schema, kind);
  return defaultName === undefined ? schema : schema.default(defaultName);
}

/** The plugin kind a config field refers to, when it was declared with pluginRef. */
export function nestedPluginKind(schema: z.ZodType): PluginKind | undefined {
  return nestedKinds.get(unwrapSchema(schema));
}
