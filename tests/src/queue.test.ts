/**
 * More than one machine, through the `tdx` command: an 8-run sweep on two `tdx worker`
 * processes, one of them SIGKILLed mid-run, must leave the run folders a local `tdx run`
 * leaves (metrics byte for byte, same seeds, same backend); a worker that lacks a plugin module
 * fails those runs naming it; `--detach` and a later `tdx run` collect everything.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  describeWithRedis,
  events,
  killGroup,
  runFolders,
  startRedis,
  startTdx,
  waitFor,
  type CliProcess,
  type TestRedis,
} from './queue-support.js';
import { quickstartVariant, root, tdx, tempDir } from './support.js';

/** 2 learning rates x 2 depths x 2 seeds of the quickstart task: about 2 s a run. */
const sweep8 = () =>
  quickstartVariant((s) => {
    s.name = 'queue-8';
    s.optimizers = undefined;
    s.optimizer = { name: 'adam', lr: 0.01, clipNorm: 1 };
    s.sweep = { 'optimizer.lr': [0.003, 0.01], 'model.layers': [2, 3] };
    s.seeds = [0, 1];
    s.seed = undefined;
    s.train = { steps: 100, logEvery: 5 };
    s.analyses = [{ name: 'top-hessian-eigenvalue', every: 50, maxIterations: 5 }];
    Object.assign(s.dataset as object, { batchSize: 200, evalBatchSize: 200 });
  });

describeWithRedis('tdx run --queue and tdx worker', () => {
  let redis: TestRedis;
  const started: CliProcess[] = [];
  const worker = (...args: string[]) => {
    const p = startTdx(['worker', redis.url, '--stall-seconds', '3', ...args]);
    started.push(p);
    return p;
  };
  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const p of started.splice(0)) await killGroup(p);
    await redis.stop();
  });

  it('runs an 8-run sweep on two workers, one SIGKILLed mid-run, into the folders of a local run', async () => {
    const spec = sweep8();
    const reference = tempDir();
    const local = tdx([
      'run',
      spec,
      '--out',
      reference,
      '--workers',
      '2',
      '--checkpoint-every',
      '10',
    ]);
    expect(local.code, local.stderr).toBe(0);

    const a = worker('--concurrency', '1', '--name', 'a');
    const b = worker('--concurrency', '1', '--name', 'b');
    const out = tempDir();
    const submit = startTdx([
      'run',
      spec,
      '--queue',
      redis.url,
      '--out',
      out,
      '--checkpoint-every',
      '10',
      '--json',
    ]);
    started.push(submit);
    // Worker a is killed (with its run process) once its run has a checkpoint past step 30.
    let held = '';
    await waitFor(submit, (stdout) => {
      held = [...a.stderr().matchAll(/\[run\] ([^\s,]+)/g)].at(-1)?.[1] ?? '';
      return events(stdout).some(
        (e) => e.type === 'checkpoint' && e.label === held && (e.step as number) >= 30,
      );
    });
    await killGroup(a);
    expect(await submit.exited, submit.stderr()).toBe(0);
    expect(runFolders(out, 'queue-8')).toEqual(runFolders(reference, 'queue-8'));

    // The run that worker a held was taken over by b and resumed from a checkpoint past 30.
    const resumed = events(submit.stdout()).filter((e) => e.type === 'run-resumed');
    expect(resumed.map((e) => e.label)).toEqual([held]);
    expect(resumed[0]!.step as number).toBeGreaterThanOrEqual(30);
    expect(b.stderr()).toContain(`[run] ${held}, resuming from its checkpoint`);
    const ends = events(submit.stdout()).filter((e) => e.type === 'run-end');
    expect(ends).toHaveLength(8);
    // The same summary, but for the wall times.
    const summary = (dir: string) => {
      const rows = readFileSync(join(dir, 'queue-8', 'summary.csv'), 'utf8')
        .trim()
        .split('\n');
      const at = rows[0]!.split(',').indexOf('wall_time_s');
      return rows.map((r) => r.split(',').filter((_, i) => i !== at));
    };
    expect(summary(out)).toEqual(summary(reference));
  }, 600_000);

  it('fails the runs of a worker that lacks a plugin module, naming it; --detach, then collect', async () => {
    // The spec and its module in a folder of the repository, where the module finds @tdx/core.
    const folder = join(root, 'tests', '.queue-scratch');
    mkdirSync(folder, { recursive: true });
    const specDir = mkdtempSync(join(folder, 'plugin-'));
    const spec = join(specDir, 'spec.yaml');
    writeFileSync(
      spec,
      readFileSync(
        quickstartVariant((s) => {
          s.name = 'queue-plugin';
          s.plugins = ['./marker-plugin.mjs'];
          s.optimizers = [{ name: 'adam', lr: 0.02, clipNorm: 1 }];
          s.train = { steps: 20, logEvery: 5 };
          s.analyses = [{ name: 'marker', every: 10 }];
          Object.assign(s.dataset as object, { batchSize: 50, evalBatchSize: 50 });
        }),
      ),
    );
    // The module is next to the spec here; the worker looks in a folder without it.
    writeFileSync(
      join(specDir, 'marker-plugin.mjs'),
      readFileSync(join(root, 'tests/fixtures/marker-plugin.mjs')),
    );
    const elsewhere = tempDir();
    mkdirSync(join(elsewhere, 'plugins'));
    const out = tempDir();
    const detached = tdx(['run', spec, '--queue', redis.url, '--out', out, '--detach']);
    expect(detached.code, detached.stderr).toBe(0);
    expect(detached.stderr).toMatch(/1 run\(s\) on the queue .*without --detach collects them/);
    const lacking = worker('--plugin-dir', join(elsewhere, 'plugins'));
    const collected = tdx(['run', spec, '--queue', redis.url, '--out', out]);
    expect(collected.code).toBe(1);
    expect(collected.stderr).toMatch(
      /FAILED after 0 steps: worker \S+ cannot load the plugin module\(s\) the spec lists: cannot import plugin module "\.\/marker-plugin\.mjs"/,
    );
    await killGroup(lacking, 'SIGTERM');
    // A worker that has it (next to the spec, where its --plugin-dir points) runs it.
    worker('--plugin-dir', specDir);
    const again = tdx(['run', spec, '--queue', redis.url, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/completed in/);
  }, 300_000);

  it('refuses flags that make no sense on a queue, and an unreachable queue, before any work', () => {
    const spec = sweep8();
    const workers = tdx(['run', spec, '--queue', redis.url, '--workers', '2']);
    expect(workers.code).toBe(2);
    expect(workers.stderr).toMatch(/--workers applies to runs on this machine/);
    const detach = tdx(['run', spec, '--detach']);
    expect(detach.code).toBe(2);
    expect(detach.stderr).toMatch(/--detach needs --queue/);
    const down = tdx(['run', spec, '--queue', 'redis://127.0.0.1:1', '--out', tempDir()]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/--queue redis:\/\/127.0.0.1:1: Redis does not answer/);
  }, 120_000);
});
