/** `--set path=value` overrides, applied to the spec as written before it is validated. */
import { parse } from 'yaml';
import {
  formatPath,
  getPath,
  isTdxError,
  parsePath,
  setPath,
  TdxError,
  type PathKey,
  type Problem,
} from '@tdx/core';

interface Assignment {
  text: string;
  path: PathKey[];
  value: unknown;
}

function parseAssignment(assignment: string): Assignment {
  const eq = assignment.indexOf('=');
  if (eq <= 0) {
    throw new TdxError('INVALID_ARGUMENT', `--set ${assignment}: expected path=value`, {
      hint: 'for example --set train.steps=100 or --set optimizers[0].lr=0.01',
    });
  }
  let path: PathKey[];
  try {
    path = parsePath(assignment.slice(0, eq));
  } catch (error) {
    throw new TdxError('INVALID_ARGUMENT', `--set ${assignment}: ${(error as Error).message}`, {
      hint: 'paths look like train.steps, optimizers[0].lr or sweep.optimizer.lr',
    });
  }
  let value: unknown;
  try {
    value = parse(assignment.slice(eq + 1));
  } catch (error) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `--set ${assignment}: the value is not valid YAML (${(error as Error).message.split('\n')[0]})`,
    );
  }
  return { text: assignment, path, value };
}

/** An index past the end of a list in the spec would leave a hole: say how long the list is. */
function checkIndices(spec: unknown, { text, path }: Assignment): void {
  let current = spec;
  for (const [i, key] of path.entries()) {
    if (typeof key === 'number' && Array.isArray(current) && key > current.length) {
      const at = formatPath(path.slice(0, i));
      throw new TdxError(
        'INVALID_ARGUMENT',
        `--set ${text}: ${at} has ${current.length} entr${current.length === 1 ? 'y' : 'ies'}, so [${key}] matches none`,
        {
          hint: `use an index from 0 to ${current.length - 1}, or ${current.length} to add one entry`,
        },
      );
    }
    if (current === null || typeof current !== 'object') return;
    current = (current as Record<PathKey, unknown>)[key];
  }
}

/** Applies `path=value` pairs; values are read as YAML (numbers, booleans, [lists], strings). */
export function applyOverrides(spec: unknown, assignments: readonly string[]): unknown {
  let result = spec;
  for (const assignment of assignments.map(parseAssignment)) {
    checkIndices(result, assignment);
    try {
      result = setPath(result, assignment.path, assignment.value);
    } catch (error) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `--set ${assignment.text}: ${(error as Error).message}`,
        { hint: 'paths look like train.steps, optimizers[0].lr or sweep.optimizer.lr' },
      );
    }
  }
  return result;
}

const under = (path: string, prefix: string): boolean =>
  path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);

/**
 * The problems of a spec error that `--set` caused, located at the `--set` that caused them
 * instead of at a line of the file that does not hold the value: a problem at or below an
 * override's path, or above it at a key the file does not have (`--set trian.steps=5`).
 * Other errors are returned as they are.
 */
export function locateOverrideProblems(
  error: unknown,
  written: unknown,
  assignments: readonly string[],
): unknown {
  if (!isTdxError(error) || error.problems.length === 0 || assignments.length === 0) return error;
  const overrides = assignments.map(parseAssignment).map((a) => ({
    text: a.text,
    path: formatPath(a.path),
  }));
  const inFile = (path: string): boolean => {
    try {
      return getPath(written, parsePath(path)) !== undefined;
    } catch {
      return true; // not a path --set can write
    }
  };
  let moved = false;
  const problems = error.problems.map((p): Problem => {
    const cause = overrides
      .filter((o) => under(p.path, o.path) || (under(o.path, p.path) && !inFile(p.path)))
      .at(-1);
    if (!cause) return p;
    moved = true;
    return { ...p, location: `--set ${cause.text}` };
  });
  if (!moved) return error;
  return new TdxError(error.code, error.message, {
    problems,
    cause: error,
    ...(error.hint ? { hint: error.hint } : {}),
  });
}
