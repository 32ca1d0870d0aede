/**
 * A sweep through Redis and BullMQ, end to end, with faults: the folders the submitter writes
 * must equal those of a local run of the same spec (metrics byte for byte), whatever happened
 * to the workers, to Redis or to the submitter on the way. The plugins are the toy ones (plain
 * JS, steps that block their process like a TF.js step), so each case takes seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runExperiment, type ExperimentEvent } from '@tdx/core';
import { runOnQueue, runQueueWorker, type QueueWorkerSummary } from '../src/index.js';
import { createRegistry } from './fixtures/toy-registry.mjs';
import { describeWithRedis, startRedis, type TestRedis } from './support.js';

const fixture = (file: string) => fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));
const runScript = fixture('run-process.mjs');
const tmp = (prefix = 'tdx-queue-') => mkdtempSync(join(tmpdir(), prefix));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two optimizers x two seeds of 60 steps, each step blocking its process for `stepMs`. */
const toySweep = (stepMs: number, extra: Record<string, unknown> = {}) => ({
  name: 'qtoy',
  backend: 'toy-backend',
  trainer: 'toy-trainer',
  dataset: { name: 'toy-data', noise: 0.1 },
  model: { name: 'toy-quadratic' },
  optimizers: [
    { name: 'toy-gd', lr: 0.1, label: 'slow', stepMs },
    { name: 'toy-gd', lr: 0.3, label: 'fast', stepMs },
  ],
  seeds: [0, 1],
  train: { steps: 60, logEvery: 2 },
  analyses: [{ name: 'toy-curvature', every: 7 }],
  ...extra,
});

const checkpoint = { everySteps: 10 };

/**
 * What must be identical to a local run's folder: every file byte for byte, except the fields
 * that say when and where (wall time, the folder, run.json's provenance, the checkpoint's time).
 */
function folders(out: string, name = 'qtoy'): Record<string, Record<string, unknown>> {
  const dir = join(out, name);
  const runs = readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'spec.json')))
    .sort();
  return Object.fromEntries(
    runs.map((id) => {
      const read = (f: string) => readFileSync(join(dir, id, f), 'utf8');
      const files: Record<string, unknown> = {};
      const walk = (rel: string) => {
        for (const e of readdirSync(join(dir, id, rel), { withFileTypes: true })) {
          const path = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) walk(path);
          else files[path] = read(path);
        }
      };
      walk('');
      const { wallMs: _w, dir: _d, resumedFrom: _r, ...result } = JSON.parse(read('result.json'));
      files['result.json'] = result;
      if (files['run.json']) {
        const {
          startedAt: _s,
          pid: _p,
          resumptions: _x,
          specFile: _f,
          ...info
        } = JSON.parse(read('run.json'));
        files['run.json'] = info;
      }
      if (files['checkpoints/latest.json']) {
        const { createdAt: _c, ...body } = JSON.parse(read('checkpoints/latest.json'));
        files['checkpoints/latest.json'] = body;
      }
      if (files['error.json']) {
        const { stack: _s, ...error } = JSON.parse(read('error.json'));
        files['error.json'] = error;
      }
      return [id, files];
    }),
  );
}

async function localRun(spec: unknown): Promise<string> {
  const out = tmp('tdx-queue-ref-');
  await runExperiment(spec, { registry: createRegistry(), outDir: out, checkpoint });
  return out;
}

describeWithRedis('a sweep on the queue', () => {
  let server: TestRedis;
  const stoppers: Array<() => Promise<unknown>> = [];
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    for (const stop of stoppers.splice(0)) await stop();
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await server.stop();
  });

  /** A worker in this process (its runs in child processes). */
  const worker = (options: Record<string, unknown> = {}, log: string[] = []) => {
    const controller = new AbortController();
    const done = runQueueWorker({
      url: server.url,
      runScript,
      // The run processes run the built packages (vitest's flags would load the sources).
      execArgv: [],
      concurrency: 2,
      stallSeconds: 2,
      log: (line) => log.push(line),
      signal: controller.signal,
      ...options,
    });
    const stop = async () => {
      controller.abort();
      return done;
    };
    stoppers.push(stop);
    return { done, stop, log };
  };

  /** A worker in a process of its own (so that it can be killed). */
  const workerProcess = (options: Record<string, unknown> = {}) => {
    const child = spawn(
      process.execPath,
      [
        fixture('worker.mjs'),
        server.url,
        JSON.stringify({ concurrency: 2, stallSeconds: 2, ...options }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    return { child, exited, out: () => stdout, err: () => stderr };
  };

  const submit = (spec: unknown, out: string, onEvent?: (e: ExperimentEvent) => void) =>
    runOnQueue(spec, {
      registry: createRegistry(),
      url: server.url,
      outDir: out,
      checkpoint,
      pollMs: 1000,
      ...(onEvent ? { onEvent } : {}),
    });

  it('writes the folders a local run writes, and leaves nothing of the runs in Redis', async () => {
    const spec = toySweep(0);
    const reference = await localRun(spec);
    worker();
    const out = tmp();
    const result = await submit(spec, out);
    expect(result.runs.map((r) => r.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
    expect(result.queued).toBe(4);
    expect(folders(out)).toEqual(folders(reference));
    // The results name the folders here, not the worker's scratch folders.
    for (const run of result.runs) {
      expect(run.dir).toBe(join(out, 'qtoy', run.id));
      expect(JSON.parse(readFileSync(join(run.dir, 'result.json'), 'utf8')).dir).toBe(run.dir);
    }
    const redis = new Redis(server.url);
    const left = (await redis.keys('tdx:run:*')).length;
    redis.disconnect();
    expect(left).toBe(0);
    // Running it again: every run is finished here, nothing goes on the queue.
    const again = await submit(spec, out);
    expect(again.queued).toBe(0);
    expect(again.runs.map((r) => r.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
  });

  it("resumes a SIGKILLed worker's runs on another worker from their last checkpoint, with the same numbers", async () => {
    const spec = toySweep(40);
    const reference = await localRun(spec);
    const doomed = workerProcess();
    const out = tmp();
    let killed = false;
    let rescuer: ReturnType<typeof worker> | undefined;
    const events: ExperimentEvent[] = [];
    const result = await submit(spec, out, (e) => {
      events.push(e);
      if (!killed && e.type === 'checkpoint' && e.step >= 20) {
        killed = true;
        doomed.child.kill('SIGKILL');
        rescuer = worker();
      }
    });
    expect(killed).toBe(true);
    expect(result.runs.every((r) => r.status === 'completed')).toBe(true);
    expect(folders(out)).toEqual(folders(reference));
    // The killed worker's runs went on from a checkpoint, not from the start.
    const resumed = events.filter((e) => e.type === 'run-resumed');
    expect(resumed.length).toBeGreaterThan(0);
    for (const e of resumed) expect(e.type === 'run-resumed' && e.step).toBeGreaterThanOrEqual(10);
    const resumptions = result.runs.map(
      (r) => JSON.parse(readFileSync(join(r.dir, 'run.json'), 'utf8')).resumptions?.length ?? 0,
    );
    expect(resumptions.some((n) => n > 0)).toBe(true);
    await rescuer!.stop();
  });

  it('refuses the late writes of a worker that froze and was presumed lost; never two at once', async () => {
    const spec = toySweep(40);
    const reference = await localRun(spec);
    const frozen = workerProcess({ concurrency: 1 });
    const out = tmp();
    let stopped = false;
    let rescuer: ReturnType<typeof worker> | undefined;
    let thawed = false;
    const thaw = () => {
      if (!thawed) frozen.child.kill('SIGCONT');
      thawed = true;
    };
    const result = await submit(spec, out, (e) => {
      if (!stopped && e.type === 'checkpoint' && e.step >= 20) {
        stopped = true;
        // Its event loop stops (as under swapping or a debugger); its run process goes on
        // computing into the scratch folder and queueing messages.
        frozen.child.kill('SIGSTOP');
        rescuer = worker({ concurrency: 2 });
        // A loaded machine may take long to start the rescuer: thaw at the latest after a minute.
        setTimeout(thaw, 60_000);
      }
      // Thawed once another worker holds its run (it resumed it from its checkpoint), not after
      // a fixed time, which on a busy machine could come before the takeover.
      if (stopped && e.type === 'run-resumed') setTimeout(thaw, 1000);
    });
    expect(stopped).toBe(true);
    expect(result.runs.every((r) => r.status === 'completed')).toBe(true);
    expect(folders(out)).toEqual(folders(reference));
    await sleep(Math.max(0, 500));
    frozen.child.kill('SIGCONT');
    frozen.child.kill('SIGTERM');
    await frozen.exited;
    const summary = JSON.parse(frozen.out().trim().split('\n').at(-1)!) as QueueWorkerSummary;
    expect(summary.superseded).toBeGreaterThanOrEqual(1);
    expect(frozen.err()).toMatch(/\[lost\]/);
    await rescuer!.stop();
  });

  it('fails a failing run alone, with its error.json', async () => {
    const spec = toySweep(0, {
      optimizers: [
        { name: 'toy-gd', lr: 0.1, label: 'slow' },
        { name: 'toy-gd', lr: 0.3, label: 'fast', failAt: 25 },
      ],
    });
    const reference = await localRun(spec);
    worker();
    const out = tmp();
    const result = await submit(spec, out);
    expect(result.runs.map((r) => [r.label.split('_')[0], r.status])).toEqual([
      ['slow', 'completed'],
      ['slow', 'completed'],
      ['fast', 'failed'],
      ['fast', 'failed'],
    ]);
    const failed = result.runs.find((r) => r.status === 'failed')!;
    expect(failed.error).toBe('toy failure at step 25');
    expect(JSON.parse(readFileSync(join(failed.dir, 'error.json'), 'utf8')).message).toBe(
      'toy failure at step 25',
    );
    expect(folders(out)).toEqual(folders(reference));
  });

  it('fails, naming the module, a run whose plugin module the worker lacks', async () => {
    const spec = toySweep(0, {
      seeds: [0],
      plugins: ['./extra-plugin.mjs'],
      analyses: [{ name: 'toy-extra', every: 10 }],
    });
    // Next to the spec on this machine; the worker resolves plugins from a folder without it.
    const source = { path: fixture('spec.json'), raw: spec, locate: () => undefined };
    const lacking = worker({ pluginDir: tmp('tdx-queue-plugins-') });
    const out = tmp();
    const result = await runOnQueue(spec, {
      registry: createRegistry(),
      url: server.url,
      outDir: out,
      source,
      pollMs: 1000,
    });
    expect(result.runs.map((r) => r.status)).toEqual(['failed', 'failed']);
    for (const run of result.runs) {
      expect(run.error).toMatch(
        /cannot load the plugin module\(s\) the spec lists: .*"\.\/extra-plugin\.mjs"/,
      );
      const error = JSON.parse(readFileSync(join(run.dir, 'error.json'), 'utf8'));
      expect(error.code).toBe('PLUGIN_LOAD');
      expect(error.hint).toMatch(/install them on every worker/);
      expect(readFileSync(join(run.dir, 'spec.json'), 'utf8')).toContain('extra-plugin.mjs');
    }
    // A worker with the module where it looks runs them.
    await lacking.stop();
    const able = worker({ pluginDir: fixture('.') });
    const again = await runOnQueue(spec, {
      registry: createRegistry(),
      url: server.url,
      outDir: out,
      source,
      pollMs: 1000,
    });
    expect(again.runs.map((r) => r.status)).toEqual(['completed', 'completed']);
    await able.stop();
  });

  it('goes on when Redis restarts mid-sweep (workers and submitter reconnect)', async () => {
    await server.stop();
    server = await startRedis({ persist: true });
    const spec = toySweep(40);
    const reference = await localRun(spec);
    const log: string[] = [];
    worker({}, log);
    const out = tmp();
    let restarted: Promise<void> | undefined;
    const result = await submit(spec, out, (e) => {
      if (!restarted && e.type === 'checkpoint' && e.step >= 20)
        restarted = server.restart({ downMs: 1500 });
    });
    await restarted;
    expect(result.runs.every((r) => r.status === 'completed')).toBe(true);
    expect(folders(out)).toEqual(folders(reference));
  });

  it('queues again from the folders collected so far when Redis restarts without its data', async () => {
    const spec = toySweep(40);
    const reference = await localRun(spec);
    worker();
    const out = tmp();
    let restarted: Promise<void> | undefined;
    const lines: string[] = [];
    const result = await runOnQueue(spec, {
      registry: createRegistry(),
      url: server.url,
      outDir: out,
      checkpoint,
      pollMs: 1000,
      log: (line) => lines.push(line),
      onEvent: (e) => {
        if (!restarted && e.type === 'checkpoint' && e.step >= 30)
          restarted = server.restart({ downMs: 500 });
      },
    });
    await restarted;
    expect(result.runs.every((r) => r.status === 'completed')).toBe(true);
    expect(folders(out)).toEqual(folders(reference));
    expect(lines.some((l) => l.includes('[lost]'))).toBe(true);
  });

  it('reattaches after the submitter is killed: nothing lost, nothing executed twice', async () => {
    const spec = toySweep(40);
    const reference = await localRun(spec);
    const w = worker();
    const out = tmp();
    const first = spawn(
      process.execPath,
      [fixture('submit.mjs'), server.url, out, JSON.stringify(spec)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(first);
    await new Promise<void>((resolve) => {
      let buffer = '';
      first.stdout!.on('data', (d) => {
        buffer += d;
        if (/"type":"checkpoint"[^\n]*"step":(2|3|4)\d/.test(buffer)) resolve();
      });
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.on('exit', r));
    const result = await submit(spec, out);
    expect(result.reattached).toBe(4);
    expect(result.queued).toBe(0);
    expect(result.runs.every((r) => r.status === 'completed')).toBe(true);
    expect(folders(out)).toEqual(folders(reference));
    const summary = (await w.stop()) as QueueWorkerSummary;
    expect(summary.ended).toBe(4);
    expect(summary.superseded).toBe(0);
  });
});
