import { z, type Registry } from '@tdx/core';
import { EXIT, type CliIo } from '../io.js';
import { checkKind } from './list.js';

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
}

function describeType(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return s.anyOf.map(describeType).join(' | ');
  const base = Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'any');
  const bounds = [
    s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : undefined,
    s.minimum !== undefined ? `>= ${s.minimum}` : undefined,
    s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : undefined,
    s.maximum !== undefined && Math.abs(s.maximum) < Number.MAX_SAFE_INTEGER
      ? `<= ${s.maximum}`
      : undefined,
  ].filter(Boolean);
  const minimum = s.minimum !== undefined && Math.abs(s.minimum) >= Number.MAX_SAFE_INTEGER;
  const shown = minimum ? bounds.filter((b) => !b!.startsWith('>=')) : bounds;
  const items = base === 'array' && s.items ? ` of ${describeType(s.items)}` : '';
  return [`${base}${items}`, ...shown].join(' ');
}

/** `tdx describe <kind> <name>`: a plugin's description and config, with types and defaults. */
export function describeCommand(kind: string, name: string, registry: Registry, io: CliIo): number {
  const plugin = registry.get(checkKind(kind), name, `${kind}`);
  io.out(`${plugin.kind} "${plugin.name}": ${plugin.description}\n`);
  const schema = z.toJSONSchema(plugin.config, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  const properties = Object.entries(schema.properties ?? {});
  if (properties.length === 0) {
    io.out('config: none\n');
    return EXIT.ok;
  }
  io.out('config:\n');
  const width = Math.max(...properties.map(([k]) => k.length));
  for (const [key, prop] of properties) {
    const required = schema.required?.includes(key) && prop.default === undefined;
    const status = required
      ? 'required'
      : prop.default !== undefined
        ? `default ${JSON.stringify(prop.default)}`
        : 'optional';
    io.out(
      `  ${key.padEnd(width)}  ${describeType(prop)}  (${status})${prop.description ? `  ${prop.description}` : ''}\n`,
    );
  }
  return EXIT.ok;
}
