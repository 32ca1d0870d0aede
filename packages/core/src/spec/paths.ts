/**
 * Dotted paths into specs: `optimizer.lr`, `analyses[0].every`. Used by sweeps and by
 * `--set path=value` overrides.
 */
import { TdxError } from '../errors.js';

export type PathKey = string | number;

const SEGMENT = /^([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)$/;

/** `a.b[0].c` -> ['a', 'b', 0, 'c']; throws INVALID_ARGUMENT on a malformed path. */
export function parsePath(path: string): PathKey[] {
  const keys: PathKey[] = [];
  for (const part of path.split('.')) {
    const match = SEGMENT.exec(part);
    if (!match) {
      throw new TdxError('INVALID_ARGUMENT', `"${path}" is not a valid path`, {
        hint: 'write paths like optimizer.lr, train.steps or analyses[0].every',
      });
    }
    keys.push(match[1]!);
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) keys.push(Number(index[1]));
  }
  return keys;
}

/**
 * A copy of `target` with the value at `path` replaced, creating objects (or arrays, for
 * numeric keys) on the way. The input is not modified.
 */
export function setPath<T>(target: T, path: readonly PathKey[], value: unknown): T {
  if (path.length === 0) return value as T;
  const [key, ...rest] = path;
  const base: unknown = target ?? (typeof key === 'number' ? [] : {});
  if (base === null || typeof base !== 'object') {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `cannot set "${String(key)}" inside a ${typeof base} value`,
    );
  }
  const copy = (Array.isArray(base) ? [...base] : { ...(base as object) }) as Record<
    PathKey,
    unknown
  >;
  copy[key!] = setPath(copy[key!], rest, value);
  return copy as T;
}

export function getPath(target: unknown, path: readonly PathKey[]): unknown {
  let current = target;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PathKey, unknown>)[key];
  }
  return current;
}
