/** `--set path=value` overrides, applied to the spec as written before it is validated. */
import { parse } from 'yaml';
import { parsePath, setPath, TdxError } from '@tdx/core';

/** Applies `path=value` pairs; values are read as YAML (numbers, booleans, [lists], strings). */
export function applyOverrides(spec: unknown, assignments: readonly string[]): unknown {
  let result = spec;
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
    try {
      result = setPath(result, parsePath(path), value);
    } catch (error) {
      throw new TdxError('INVALID_ARGUMENT', `--set ${assignment}: ${(error as Error).message}`, {
        hint: 'paths look like train.steps, optimizers[0].lr or sweep.optimizer.lr',
      });
    }
  }
  return result;
}
