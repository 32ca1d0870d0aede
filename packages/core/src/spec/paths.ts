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

/** `['a', 0, 'b']` -> `a[0].b`. */
export function formatKeys(path: readonly PathKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/**
 * A copy of `target` with the value at `path` replaced, creating objects (or arrays, for
 * numeric keys) on the way. The input is not modified. A name inside a list (`optimizers.lr`
 * where `optimizers` is a list), an index into a mapping, or an index past the end of a list
 * (more than one past: `[length]` appends) throws INVALID_ARGUMENT naming the path.
 */
export function setPath<T>(target: T, path: readonly PathKey[], value: unknown): T {
  return setPathFrom(target, path, value, []);
}

function setPathFrom<T>(
  target: T,
  path: readonly PathKey[],
  value: unknown,
  done: readonly PathKey[],
): T {
  if (path.length === 0) return value as T;
  const [key, ...rest] = path;
  const here = [...done, key!];
  const base: unknown = target ?? (typeof key === 'number' ? [] : {});
  if (base === null || typeof base !== 'object') {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `cannot set "${formatKeys(here)}": ${formatKeys(done) || 'the spec'} is a ${base === null ? 'null' : typeof base} value, not a mapping or list`,
    );
  }
  if (Array.isArray(base)) {
    if (typeof key !== 'number')
      throw new TdxError(
        'INVALID_ARGUMENT',
        `${formatKeys(done)} is a list of ${base.length}, so "${String(key)}" needs an index before it`,
        {
          hint: `write ${formatKeys([...done, 0, ...path])}${base.length > 1 ? ` (or [1] ... [${base.length - 1}])` : ''}`,
        },
      );
    if (key > base.length)
      throw new TdxError(
        'INVALID_ARGUMENT',
        `${formatKeys(done)} has ${base.length} entr${base.length === 1 ? 'y' : 'ies'} (${base.length === 0 ? 'none' : `[0] to [${base.length - 1}]`}), so there is no ${formatKeys(here)}`,
        { hint: `indices go up to [${base.length - 1}]; [${base.length}] adds an entry` },
      );
  } else if (typeof key === 'number') {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${formatKeys(done)} is a mapping, not a list, so it has no [${key}]`,
      {
        hint: `its keys: ${Object.keys(base).join(', ') || 'none'}`,
      },
    );
  }
  const copy = (Array.isArray(base) ? [...base] : { ...(base as object) }) as Record<
    PathKey,
    unknown
  >;
  copy[key!] = setPathFrom(copy[key!], rest, value, here);
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
