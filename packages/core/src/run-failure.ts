/**
 * What a failed run leaves in its folder: error.json (message, code, problems, hint, stack),
 * then result.json. A write that fails too (a full disk) is said in the result, not thrown:
 * the run's failure is what the caller must hear about.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isTdxError } from './errors.js';
import type { RunResult } from './events.js';
import { writeJsonAtomic } from './run-directory.js';

export function recordFailure(dir: string, result: RunResult, error: unknown): RunResult {
  const notes: string[] = [];
  const attempt = (what: string, write: () => void) => {
    try {
      write();
    } catch {
      notes.push(what);
    }
  };
  attempt('error.json', () => {
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(join(dir, 'error.json'), {
      message: result.error,
      ...(isTdxError(error)
        ? { code: error.code, problems: error.problems, hint: error.hint }
        : {}),
      stack: error instanceof Error ? error.stack : undefined,
    });
  });
  attempt('result.json', () => writeJsonAtomic(join(dir, 'result.json'), result));
  return notes.length === 0
    ? result
    : { ...result, error: `${result.error} (${notes.join(' and ')} could not be written either)` };
}
