/**
 * Turns zod issues into Problems that name the path, the bad value and the choices.
 */
import type { z } from 'zod';
import { formatPath, joinPath, type Problem } from './errors.js';
import { choicesHint, closestMatch } from './suggest.js';

type AnySchema = z.ZodType;
interface SchemaDef {
  type: string;
  shape?: Record<string, AnySchema>;
  innerType?: AnySchema;
  element?: AnySchema;
  in?: AnySchema;
  out?: AnySchema;
}

function defOf(schema: AnySchema): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** Strips wrappers (default, optional, pipe, ...) down to the schema that shapes the value. */
export function unwrapSchema(schema: AnySchema): AnySchema {
  let current = schema;
  for (let depth = 0; depth < 20; depth++) {
    const def = defOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in && def.out) {
      // z.preprocess(fn, s) is pipe(transform, s); otherwise the input side shapes the value.
      current = defOf(def.in).type === 'transform' ? def.out : def.in;
    } else return current;
  }
  return current;
}

/** The fields of an object schema, or undefined when the schema is not an object. */
export function objectShape(schema: AnySchema): Record<string, AnySchema> | undefined {
  const def = defOf(unwrapSchema(schema));
  return def.type === 'object' && def.shape ? def.shape : undefined;
}

/** The keys an object schema allows, or undefined when the schema is not an object. */
export function objectKeys(schema: AnySchema): string[] | undefined {
  const shape = objectShape(schema);
  return shape ? Object.keys(shape) : undefined;
}

function schemaAt(schema: AnySchema, path: readonly PropertyKey[]): AnySchema | undefined {
  let current: AnySchema | undefined = schema;
  for (const key of path) {
    if (!current) return undefined;
    const def = defOf(unwrapSchema(current));
    if (def.type === 'object' && def.shape) current = def.shape[String(key)];
    else if (def.type === 'array' && def.element) current = def.element;
    else return undefined;
  }
  return current;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key as string];
  }
  return current;
}

function boundText(
  direction: 'min' | 'max',
  origin: string,
  bound: unknown,
  inclusive: boolean,
): string {
  if (origin === 'array' || origin === 'set')
    return direction === 'min'
      ? `must have at least ${bound} item(s)`
      : `must have at most ${bound} item(s)`;
  if (origin === 'string')
    return direction === 'min'
      ? Number(bound) === 1
        ? 'must not be empty'
        : `must have at least ${bound} characters`
      : `must have at most ${bound} characters`;
  const op = direction === 'min' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  return `must be ${op} ${bound}`;
}

/**
 * Converts a ZodError into Problems, prefixing each path with `prefix` (e.g. `optimizers[0]`).
 * `input` is the value that was parsed, used to report the offending value.
 */
export function zodProblems(
  error: z.ZodError,
  input: unknown,
  schema: AnySchema,
  prefix = '',
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const path = issue.path as PropertyKey[];
    const at = joinPath(prefix, formatPath(path));
    const value = valueAt(input, path);
    const raw = issue as unknown as Record<string, unknown>;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = objectKeys(schemaAt(schema, path) ?? schema) ?? [];
        for (const key of issue.keys) {
          problems.push({
            path: joinPath(at, key),
            message: 'unknown key',
            hint: choicesHint(key, allowed, 'allowed keys'),
          });
        }
        break;
      }
      case 'invalid_type':
        problems.push(
          value === undefined
            ? { path: at, message: `required (${String(raw.expected)})` }
            : { path: at, message: `expected ${String(raw.expected)}`, value },
        );
        break;
      case 'too_small':
        problems.push({
          path: at,
          message: boundText('min', String(raw.origin), raw.minimum, raw.inclusive === true),
          value,
        });
        break;
      case 'too_big':
        problems.push({
          path: at,
          message: boundText('max', String(raw.origin), raw.maximum, raw.inclusive === true),
          value,
        });
        break;
      case 'invalid_value': {
        const options = (raw.values as unknown[]).map(String);
        const close = typeof value === 'string' ? closestMatch(value, options) : undefined;
        problems.push({
          path: at,
          message: `must be one of ${(raw.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
          value,
          ...(close ? { hint: `did you mean "${close}"?` } : {}),
        });
        break;
      }
      default:
        problems.push({
          path: at,
          message: issue.message,
          ...(value === undefined ? {} : { value }),
        });
    }
  }
  return problems;
}
