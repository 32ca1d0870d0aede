/**
 * Typed errors. Every error a user can cause says what was wrong, where, and what to do.
 */

/** Codes of errors caused by the input (spec, plugin config, arguments): exit code 2. */
export const INPUT_ERROR_CODES = [
  'SPEC_NOT_FOUND',
  'SPEC_PARSE',
  'SPEC_INVALID',
  'PLUGIN_UNKNOWN',
  'PLUGIN_CONFIG',
  'PLUGIN_LOAD',
  'PLUGIN_DUPLICATE',
  'INVALID_ARGUMENT',
  /** A run would need more memory, time or disk than this machine has (see estimate.ts). */
  'SIZE_LIMIT',
  // A backend that cannot run here is the environment's problem, found before any work.
  'BACKEND_UNAVAILABLE',
] as const;

/** Codes of errors that happen while work runs: exit code 1. */
export const RUNTIME_ERROR_CODES = [
  'PLUGIN_CONTRACT',
  'CHECKPOINT_CORRUPT',
  'WORKER_FAILED',

  'SHAPE_MISMATCH',
  'NOT_FINITE',
  'RUN_FAILED',
  'IO',
] as const;

export type TdxErrorCode =
  (typeof INPUT_ERROR_CODES)[number] | (typeof RUNTIME_ERROR_CODES)[number];

/** One thing wrong with an input, located by a path such as `optimizers[0].lr`. */
export interface Problem {
  /** Path inside the input, in `a.b[0].c` form; empty for the input as a whole. */
  path: string;
  /** What is wrong, in words: `must be > 0`. */
  message: string;
  /** The offending value, when there is one. */
  value?: unknown;
  /** What to do about it: the allowed choices, the fix. */
  hint?: string;
  /** Where in a file: `recipes/x.yaml:12:5`. */
  location?: string;
}

export interface TdxErrorOptions {
  problems?: Problem[];
  hint?: string;
  cause?: unknown;
}

export class TdxError extends Error {
  readonly code: TdxErrorCode;
  readonly problems: Problem[];
  readonly hint: string | undefined;

  constructor(code: TdxErrorCode, message: string, options: TdxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TdxError';
    this.code = code;
    this.problems = options.problems ?? [];
    this.hint = options.hint;
  }

  /** True when the error was caused by the input rather than by the work. */
  get isInputError(): boolean {
    return (INPUT_ERROR_CODES as readonly string[]).includes(this.code);
  }

  /** The whole error as text: headline, one line per problem, then the hint. */
  format(): string {
    const lines = [`${this.message}`];
    for (const p of this.problems) lines.push(`  - ${formatProblem(p)}`);
    if (this.hint) lines.push(this.hint);
    return lines.join('\n');
  }
}

export function isTdxError(error: unknown): error is TdxError {
  return error instanceof TdxError;
}

export function formatProblem(p: Problem): string {
  const where = [p.location, p.path || '(top level)'].filter(Boolean).join(' ');
  const value = p.value === undefined ? '' : ` (got ${describeValue(p.value)})`;
  const hint = p.hint ? `; ${p.hint}` : '';
  return `${where}: ${p.message}${value}${hint}`;
}

/** A short, unambiguous rendering of a value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null)
    return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  }
  return typeof value;
}

/** Formats a path array as `a.b[0].c`; keys that are not plain names as `["optimizer.lr"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(key)))
      out += `[${JSON.stringify(String(key))}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Joins a prefix path and a sub-path: `joinPath('model', 'layers')` -> `model.layers`. */
export function joinPath(prefix: string, sub: string): string {
  if (!prefix) return sub;
  if (!sub) return prefix;
  return sub.startsWith('[') ? `${prefix}${sub}` : `${prefix}.${sub}`;
}
