#!/usr/bin/env node
// A fuzz of malformed specs: wrong types, unknown keys, huge numbers, deep nesting, empty files,
// binary junk, broken YAML. Each case is written to a file and given to `tdx validate` (and, with
// --run, to `tdx run`) in a process of its own, with a time limit. Every case is malformed, so
// the only right answer is a clean refusal: exit 2 with a `tdx: error [CODE]` line and no stack
// trace. Prints one line per case that is not clean, then the figures:
//
//   node tests/scripts/fuzz-specs.mjs [--run] [--limit-s 30] [--jobs 2]
//
// clean: exit 2, an error line, no stack; crash: any other exit or a stack trace or "internal
// error"; hang: killed at the time limit; accepted: exit 0 (a malformed spec taken as valid).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzCases } from './fuzz-cases.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'packages/cli/bin/tdx.js');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const limitS = option('--limit-s', 30);
const jobs = option('--jobs', 2);
const command = args.includes('--run') ? 'run' : 'validate';

/** Runs one case; resolves with its classification. */
export function runCase(c, parent, cmd = command, timeLimitS = limitS) {
  const dir = join(parent, `${String(c.index).padStart(3, '0')}-${c.name}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `spec.${c.ext ?? 'yaml'}`);
  writeFileSync(file, c.content);
  for (const [name, content] of Object.entries(c.files ?? {}))
    writeFileSync(join(dir, name), content);
  const argv = [cli, cmd, file, ...(cmd === 'run' ? ['--out', join(dir, 'out')] : [])];
  return new Promise((done) => {
    const child = spawn(process.execPath, argv, {
      cwd: dir,
      env: { ...process.env, TDX_DEBUG: '', TDX_PLUGIN_TIMEOUT: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeLimitS * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const stack = /\n\s+at /.test(stderr) || stderr.includes('internal error');
      const outcome = hung
        ? 'hang'
        : code === 0
          ? 'accepted'
          : code === 2 && /tdx: error \[[A-Z_]+\]/.test(stderr) && !stack
            ? 'clean'
            : 'crash';
      done({ case: c, outcome, code, stderr });
    });
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'tdx-fuzz-'));
  const cases = fuzzCases();
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++];
      const r = await runCase(c, dir);
      results.push(r);
      if (r.outcome !== 'clean')
        console.log(
          `${r.outcome.padEnd(8)} #${c.index} ${c.name} (exit ${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}`,
        );
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const count = (o) => results.filter((r) => r.outcome === o).length;
  console.log(
    `tdx ${command}: ${results.length} malformed specs: ${count('clean')} clean, ${count('crash')} crash, ${count('hang')} hang, ${count('accepted')} accepted`,
  );
  process.exit(count('clean') === results.length ? 0 : 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
