import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll } from 'vitest';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cliBin = join(root, 'packages/cli/bin/tdx.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `tdx` command as a user would (the build runs before tests). */
export function tdx(args: string[], cwd = root, env: Record<string, string> = {}): CliResult {
  const run = spawnSync(process.execPath, [cliBin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, TDX_DEBUG: '', ...env },
  });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

const madeHere: string[] = [];

/** A fresh temporary folder, removed when the test file that made it is done. */
export function tempDir(prefix = 'tdx-it-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeHere.push(dir);
  return dir;
}

// Each test file evaluates this module anew (vitest isolates files), so this runs per file.
afterAll(() => {
  for (const dir of madeHere.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The quickstart recipe with changes, written to a temporary folder. */
export function quickstartVariant(change: (spec: Record<string, unknown>) => void): string {
  const spec = parse(readFileSync(join(root, 'recipes/quickstart.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  change(spec);
  const file = join(tempDir('tdx-spec-'), 'spec.yaml');
  writeFileSync(file, stringify(spec));
  return file;
}

export function readJsonl(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
