/**
 * Two `tdx run` processes on one spec and one results folder (issue 15): every run executes
 * once, in one of them; no folder is moved aside; both exit 0, the second saying what it waited
 * for and skipped. And a claim left by a process that died is taken over.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExperimentEvent } from '@tdx/core';
import { cliBin, quickstartVariant, root, tdx, tempDir } from './support.js';

const spec = quickstartVariant((s) => {
  s.name = 'claims';
  s.optimizers = [
    { name: 'sgd', lr: 0.02, momentum: 0.9, clipNorm: 1 },
    { name: 'adam', lr: 0.02, clipNorm: 1 },
    { name: 'sgd', label: 'slow-sgd', lr: 0.005, clipNorm: 1 },
  ];
  s.train = { steps: 300, logEvery: 10 };
  s.analyses = [];
  Object.assign(s.dataset as object, { batchSize: 200, evalBatchSize: 200 });
});

/** `tdx run --json`: resolves with the exit code and the events. */
function run(out: string, workers: string) {
  const child = spawn(
    process.execPath,
    [cliBin, 'run', spec, '--out', out, '--workers', workers, '--json'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TDX_DEBUG: '' } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<{ code: number | null; events: ExperimentEvent[]; stderr: string }>((r) =>
    child.on('exit', (code) =>
      r({
        code,
        stderr,
        events: stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as ExperimentEvent),
      }),
    ),
  );
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ofType = <T extends ExperimentEvent['type']>(events: ExperimentEvent[], type: T) =>
  events.filter((e): e is Extract<ExperimentEvent, { type: T }> => e.type === type);

describe('two tdx run processes on one folder', () => {
  it('execute every run once between them, move nothing aside, and both exit 0', async () => {
    const out = tempDir();
    const first = run(out, '2');
    // The second starts once the first is running.
    const deadline = Date.now() + 60_000;
    while (!(
      existsSync(join(out, 'claims')) &&
      readdirSync(join(out, 'claims')).some((d) =>
        existsSync(join(out, 'claims', d, 'metrics.jsonl')),
      )
    )) {
      if (Date.now() > deadline) throw new Error('the first run did not start');
      await wait(50);
    }
    const second = run(out, '1');
    const [a, b] = await Promise.all([first, second]);
    expect(a.stderr).toBe('');
    expect(b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);

    const ids = ofType(a.events, 'experiment-start')[0]!.runs.map((r) => r.id);
    const started = [...ofType(a.events, 'run-start'), ...ofType(b.events, 'run-start')].map(
      (e) => e.runId,
    );
    expect(started.sort()).toEqual([...ids].sort());
    // The second process waited for a run the first held, and skipped it once it finished.
    expect(ofType(b.events, 'run-waiting').length).toBeGreaterThan(0);
    expect(ofType(b.events, 'run-skipped').map((e) => e.reason)).toContain(
      'finished meanwhile, in another process',
    );
    const folders = readdirSync(join(out, 'claims'));
    expect(folders.filter((d) => d.includes('.previous-'))).toEqual([]);
    for (const id of ids) {
      const result = JSON.parse(readFileSync(join(out, 'claims', id, 'result.json'), 'utf8'));
      expect(result.status).toBe('completed');
    }
    // Both wrote the reports of the whole experiment at the end.
    for (const r of [a, b])
      expect(
        ofType(r.events, 'experiment-end')[0]!
          .result.runs.map((x) => x.id)
          .sort(),
      ).toEqual([...ids].sort());
    expect(readdirSync(join(out, 'claims', '.claims'))).toEqual([]);
  });

  it('take over the claim of a process that died', () => {
    const quick = quickstartVariant((s) => {
      s.name = 'claims';
      s.train = { steps: 20, logEvery: 10 };
      s.analyses = [];
      Object.assign(s.dataset as object, { batchSize: 50, evalBatchSize: 50 });
    });
    const out = tempDir();
    const done = tdx(['run', quick, '--out', out, '--json']);
    expect(done.code).toBe(0);
    const start = JSON.parse(done.stdout.split('\n')[0]!) as Extract<
      ExperimentEvent,
      { type: 'experiment-start' }
    >;
    const { id } = start.runs[0]!;
    // A process that died (SIGKILL, a crash) while it held the run: its claim stays behind.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const pid = Number(dead.stdout);
    writeFileSync(
      join(out, 'claims', '.claims', `${id}.json`),
      JSON.stringify({ pid, hostname: hostname(), startedAt: 'then', token: 'dead' }),
    );
    rmSync(join(out, 'claims', id, 'result.json'));

    const again = tdx(['run', quick, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`took over the claim of process ${pid}`);
    expect(existsSync(join(out, 'claims', id, 'result.json'))).toBe(true);
    expect(readdirSync(join(out, 'claims', '.claims'))).toEqual([]);
  });
});
