/** `--set path=value` overrides, applied to the spec as written before it is validated. */
import { parse } from 'yaml';
import {
  formatKeys,
  getPath,
  overriddenSource,
  parsePath,
  readSpecFile,
  setPath,
  TdxError,
  type PathKey,
  type SpecOverride,
  type SpecSource,
} from '@tdx/core';

/** Applies `path=value` pairs; values are read as YAML (numbers, booleans, [lists], strings). */
export function applyOverrides(spec: unknown, assignments: readonly string[]): unknown {
  return applyOverridesTraced(spec, assignments).spec;
}

/**
 * Applies the overrides and says where each came from: problems found under a path an
 * override set (or created: `optimizers[2]` for `--set optimizers[2].lr=0.1`) are located at
 * the `--set`, not at a line of the spec file.
 */
export function applyOverridesTraced(
  spec: unknown,
  assignments: readonly string[],
): { spec: unknown; overrides: SpecOverride[] } {
  let result = spec;
  const overrides: SpecOverride[] = [];
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) {
      throw new TdxError('INVALID_ARGUMENT', `--set ${assignment}: expected path=value`, {
        hint: 'for example --set train.steps=100 or --set optimizers[0].lr=0.01',
      });
    }
    const path = assignment.slice(0, eq);
    let value: unknown;
    try {
      value = parse(assignment.slice(eq + 1));
    } catch (error) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `--set ${assignment}: the value is not valid YAML (${(error as Error).message.split('\n')[0]})`,
      );
    }
    let keys: PathKey[];
    try {
      keys = parsePath(path);
      result = setPath(result, keys, value);
    } catch (error) {
      throw new TdxError('INVALID_ARGUMENT', `--set ${assignment}: ${(error as Error).message}`, {
        hint:
          (error instanceof TdxError && error.hint) ||
          'paths look like train.steps, optimizers[0].lr or sweep.optimizer.lr',
      });
    }
    // The shortest prefix the spec did not have: everything under it is the override's.
    let created = keys.length;
    for (let n = 1; n <= keys.length; n++) {
      if (getPath(spec, keys.slice(0, n)) === undefined) {
        created = n;
        break;
      }
    }
    const shown = assignment.length > 60 ? `${assignment.slice(0, 57)}...` : assignment;
    overrides.push({ path: formatKeys(keys.slice(0, created)), origin: `--set ${shown}` });
  }
  return { spec: result, overrides };
}

/**
 * A spec file read with its `--set` overrides applied: the raw spec to check, and its source
 * with problems under an overridden path located at the `--set`. `tdx run` and `tdx validate`
 * both read their spec through this.
 */
export function readSpecWithOverrides(
  specFile: string,
  assignments: readonly string[],
): { raw: unknown; source: SpecSource } {
  const file = readSpecFile(specFile);
  const { spec: raw, overrides } = applyOverridesTraced(file.raw, assignments);
  return { raw, source: overrides.length > 0 ? overriddenSource(file, overrides) : file };
}
