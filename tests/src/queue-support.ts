/**
 * The queue's integration tests: a throwaway Redis, `tdx worker` processes, and what of a run
 * folder must be identical between a sweep on the queue and the same sweep run locally.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'vitest';
import { redisAvailable, redisRequired } from '../scripts/redis-server.mjs';
import { cliBin, root } from './support.js';

export { startRedis, type TestRedis } from '../scripts/redis-server.mjs';

const available = redisAvailable();
if (!available && redisRequired())
  throw new Error(
    'redis-server is not installed, and CI requires the queue tests: apt-get install -y redis-server',
  );

/** describe() where redis-server can run, describe.skip() elsewhere (never in CI). */
export const describeWithRedis: typeof describe = (
  available ? describe : describe.skip
) as typeof describe;

export interface CliProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
}

/** Starts `tdx <args>` in its own process group (so that it and its children can be killed). */
export function startTdx(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [cliBin, ...args], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TDX_DEBUG: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Kills a `tdx` process and everything it started. */
export async function killGroup(p: CliProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  try {
    process.kill(-p.child.pid!, signal);
  } catch {
    // gone already
  }
  await p.exited;
}

/** Resolves once `test` holds for stdout (polled), or rejects after `ms`. */
export async function waitFor(p: CliProcess, test: (stdout: string) => boolean, ms = 120_000) {
  const deadline = Date.now() + ms;
  while (!test(p.stdout())) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms; stderr: ${p.stderr()}`);
    if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode}: ${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The events a `tdx run --json` has printed so far. */
export function events(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return []; // a line still being written
      }
    });
}

/**
 * What must be identical to the local run, per run folder: spec.json, metrics.jsonl and every
 * analysis file byte for byte, the final numbers, the seed and the backend that ran it.
 */
export function runFolders(out: string, name: string): Record<string, Record<string, string>> {
  const dir = join(out, name);
  const runs = readdirSync(dir).filter((d) => existsSync(join(dir, d, 'spec.json')));
  return Object.fromEntries(
    runs.sort().map((id) => {
      const read = (f: string) => readFileSync(join(dir, id, f), 'utf8');
      const result = JSON.parse(read('result.json'));
      const info = JSON.parse(read('run.json'));
      const analyses = existsSync(join(dir, id, 'analyses'))
        ? readdirSync(join(dir, id, 'analyses'))
            .sort()
            .map((f) => read(join('analyses', f)))
        : [];
      return [
        id,
        {
          spec: read('spec.json'),
          metrics: read('metrics.jsonl'),
          analyses: analyses.join('\n'),
          result: JSON.stringify([
            result.status,
            result.steps,
            result.finalLoss,
            result.finalEvalLoss,
          ]),
          identity: JSON.stringify([info.seed, info.sweep, info.backend?.name]),
        },
      ];
    }),
  );
}
