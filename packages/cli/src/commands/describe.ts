import { TdxError, isTdxError, z, type Registry } from '@tdx/core';
import { EXIT, type CliIo } from '../io.js';
import { checkKind } from './list.js';

/** The parts of a JSON schema (as z.toJSONSchema writes them) that `describe` shows. */
interface JsonSchema {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema | boolean;
  prefixItems?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

/** One config field: its type in one line, its doc, and the fields nested inside it. */
interface Field {
  key: string;
  type: string;
  status: string;
  doc?: string | undefined;
  groups: Group[];
}

/** Fields shown together under a title: an object's fields, one form of a union. */
interface Group {
  title?: string;
  fields: Field[];
}

/** A schema's type in one line, with the groups of fields its objects hold. */
interface Shape {
  type: string;
  groups: Group[];
}

/** Integer bounds of ±2^53 are zod's way of saying "an integer"; they are not worth showing. */
const meaningful = (n: number | undefined): n is number =>
  n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER;

function bounds(s: JsonSchema): string[] {
  return [
    meaningful(s.exclusiveMinimum) ? `> ${s.exclusiveMinimum}` : undefined,
    meaningful(s.minimum) ? `>= ${s.minimum}` : undefined,
    meaningful(s.exclusiveMaximum) ? `< ${s.exclusiveMaximum}` : undefined,
    meaningful(s.maximum) ? `<= ${s.maximum}` : undefined,
    s.minLength !== undefined && s.minLength > 1 ? `of at least ${s.minLength} characters` : '',
    s.maxLength !== undefined ? `of at most ${s.maxLength} characters` : '',
  ].filter((b): b is string => Boolean(b));
}

function countText(s: JsonSchema): string {
  const { minItems: min, maxItems: max } = s;
  if (min !== undefined && max !== undefined)
    return min === max ? `, ${min} items` : `, ${min} to ${max} items`;
  if (min !== undefined && min > 0) return `, at least ${min}`;
  if (max !== undefined) return `, at most ${max}`;
  return '';
}

/** `a | b` inside a longer type needs parentheses: `array of ("a" | object)`. */
const grouped = (type: string): string => (type.includes(' | ') ? `(${type})` : type);

/** The property every member of a union fixes to a constant (`name` of a schedule), if any. */
function discriminator(members: JsonSchema[]): string | undefined {
  const first = members[0]?.properties;
  if (!first) return undefined;
  return Object.keys(first).find((key) =>
    members.every((m) => m.properties?.[key]?.const !== undefined),
  );
}

class Describer {
  constructor(private readonly root: JsonSchema) {}

  private resolve(s: JsonSchema, depth: number): JsonSchema | undefined {
    if (s.$ref === undefined) return s;
    if (depth > 8) return undefined;
    const name = /^#\/\$defs\/(.+)$/.exec(s.$ref)?.[1];
    return s.$ref === '#' ? this.root : name ? this.root.$defs?.[name] : undefined;
  }

  fields(s: JsonSchema, depth: number): Field[] {
    return Object.entries(s.properties ?? {}).map(([key, prop]) => {
      const resolved = this.resolve(prop, depth) ?? prop;
      const shape = this.shape(prop, depth + 1);
      const hasDefault = prop.default !== undefined || resolved.default !== undefined;
      const required = s.required?.includes(key) && !hasDefault;
      const fallback = prop.default ?? resolved.default;
      return {
        key,
        type: shape.type,
        status: required
          ? 'required'
          : fallback !== undefined
            ? `default ${JSON.stringify(fallback)}`
            : 'optional',
        doc: prop.description ?? resolved.description,
        groups: shape.groups,
      };
    });
  }

  shape(schema: JsonSchema, depth: number): Shape {
    const s = this.resolve(schema, depth);
    if (!s) return { type: 'object (recursive)', groups: [] };
    if (s.allOf && s.allOf.length > 0) {
      const parts = s.allOf.map((part) => this.shape(part, depth + 1));
      return {
        type: parts.map((p) => p.type).join(' & '),
        groups: parts.flatMap((p) => p.groups),
      };
    }
    if (s.const !== undefined) return { type: JSON.stringify(s.const), groups: [] };
    if (s.enum) return { type: s.enum.map((v) => JSON.stringify(v)).join(' | '), groups: [] };
    const members = s.anyOf ?? s.oneOf;
    if (members) return this.union(members, depth);
    const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
    if (type === 'object') {
      const fields = this.fields(s, depth);
      return { type: 'object', groups: fields.length > 0 ? [{ fields }] : [] };
    }
    if (type === 'array') {
      if (s.prefixItems) {
        const items = s.prefixItems.map((item) => this.shape(item, depth + 1));
        return {
          type: `[${items.map((i) => i.type).join(', ')}]`,
          groups: items.flatMap((i) => i.groups),
        };
      }
      const items =
        typeof s.items === 'object' ? this.shape(s.items, depth + 1) : { type: 'any', groups: [] };
      return {
        type: `array of ${grouped(items.type)}${countText(s)}`,
        groups: items.groups.map((g) => ({ ...g, title: g.title ?? 'each item:' })),
      };
    }
    return { type: [type ?? 'any', ...bounds(s)].join(' '), groups: [] };
  }

  /**
   * A union: its forms side by side. Objects told apart by a constant key (a schedule's
   * `name`) show that key's values in the type and one group of fields per form.
   */
  private union(members: JsonSchema[], depth: number): Shape {
    const resolved = members.map((m) => this.resolve(m, depth) ?? m);
    const key = resolved.length > 1 ? discriminator(resolved) : undefined;
    if (key !== undefined) {
      const groups = resolved.map((m) => {
        const rest = { ...m, properties: { ...m.properties } };
        delete rest.properties[key];
        return {
          title: `${key}: ${JSON.stringify(m.properties![key]!.const)}`,
          fields: this.fields(rest, depth + 1),
        };
      });
      const values = resolved.map((m) => JSON.stringify(m.properties![key]!.const)).join(' | ');
      return { type: `object with ${key}: ${values}`, groups };
    }
    const shapes = members.map((m) => this.shape(m, depth + 1));
    return {
      type: shapes.map((sh) => sh.type).join(' | '),
      groups: shapes.flatMap((sh) =>
        sh.groups.map((g) => ({ ...g, title: g.title ?? `as ${sh.type}:` })),
      ),
    };
  }
}

/** A plugin's config as a tree of fields, from its zod schema. */
export function describeConfig(schema: z.ZodType): { type: string; fields: Field[] } {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const describer = new Describer(json);
  if (json.properties) return { type: 'object', fields: describer.fields(json, 0) };
  const shape = describer.shape(json, 0);
  return { type: shape.type, fields: shape.groups.flatMap((g) => g.fields) };
}

const LINE_WIDTH = 100;

function wrap(text: string, indent: number): string[] {
  const width = Math.max(40, LINE_WIDTH - indent);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${' '.repeat(indent)}${l}`);
}

/** Fields aligned in columns: name, type, (status); the doc under the type; nested groups below. */
export function formatFields(fields: readonly Field[], indent: number): string[] {
  const width = Math.max(0, ...fields.map((f) => f.key.length));
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  for (const f of fields) {
    lines.push(`${pad}${f.key.padEnd(width)}  ${f.type}  (${f.status})`);
    if (f.doc) lines.push(...wrap(f.doc, indent + width + 2));
    for (const group of f.groups) {
      if (group.title) lines.push(`${pad}    ${group.title}`);
      lines.push(...formatFields(group.fields, indent + (group.title ? 6 : 4)));
    }
  }
  return lines;
}

/** `tdx describe <kind> <name>`: a plugin's description and config, with types, defaults, docs. */
export function describeCommand(kind: string, name: string, registry: Registry, io: CliIo): number {
  let plugin;
  try {
    plugin = registry.get(checkKind(kind), name);
  } catch (error) {
    if (isTdxError(error) && error.code === 'PLUGIN_UNKNOWN')
      throw new TdxError(error.code, error.message, {
        problems: error.problems,
        hint: `a plugin from a package: tdx describe ${kind} ${name} --plugins <package or path>`,
      });
    throw error;
  }
  io.out(`${plugin.kind} "${plugin.name}": ${plugin.description}\n`);
  const { type, fields } = describeConfig(plugin.config);
  if (fields.length === 0) {
    io.out(type === 'object' ? 'config: none\n' : `config: ${type}\n`);
    return EXIT.ok;
  }
  io.out(`config:\n${formatFields(fields, 2).join('\n')}\n`);
  return EXIT.ok;
}
