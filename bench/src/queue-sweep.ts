/**
 * sweep-8-queue: the 8-run sweep of sweep-8 on a Redis queue with two local `tdx worker`
 * processes (one run at a time each), against `tdx run --workers 2` on the same machine, in
 * alternation; and queue-overhead: 32 runs of one step on one worker against `tdx run
 * --workers 1`, whose difference per run is what the queue adds to each run (job hand-out, claim, scratch
 * folder, streaming the files back, collection). Needs Debian's redis-server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnvironment } from '@tdx/core';
import { SWEEP_8_SPEC } from './sweep-workers.js';

const cli = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/cli/bin/tdx.js');

/** 32 runs of one step (the sweep-8 grid x 4 seeds): what a run costs besides its steps. */
const TINY_RUNS = 32;
const TINY_SPEC = SWEEP_8_SPEC.replace('sweep-8', 'tiny-32')
  .replace('train: { steps: 300, logEvery: 50 }', 'train: { steps: 1, logEvery: 1 }')
  .replace('seeds: [0, 1]', 'seeds: [0, 1, 2, 3]');

const freePort = () =>
  new Promise<number>((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'tdx-bench-redis-'));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (ping.stdout.trim() === 'PONG') break;
    await sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `tdx worker`s and resolves once each says it takes runs. */
async function startWorkers(url: string, count: number): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const child = spawn(
        process.execPath,
        [cli, 'worker', url, '--concurrency', '1', '--name', `bench-${i}`],
        // Workers sharing one machine share its cores, as `tdx run --workers` shares them.
        { stdio: ['ignore', 'ignore', 'pipe'], env: childEnvironment(count) },
      );
      return new Promise<ChildProcess>((res) => {
        let log = '';
        child.stderr!.on('data', (d) => {
          log += d;
          if (log.includes('run(s) at once')) res(child);
        });
      });
    }),
  );
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((r) => {
          w.on('exit', r);
          w.kill('SIGTERM');
        }),
    ),
  );
}

function wallMs(spec: string, args: string[]): number {
  const dir = mkdtempSync(join(tmpdir(), 'tdx-bench-queue-'));
  writeFileSync(join(dir, 'spec.yaml'), spec);
  const start = performance.now();
  const run = spawnSync(
    process.execPath,
    [cli, 'run', join(dir, 'spec.yaml'), '--out', dir, ...args],
    { encoding: 'utf8' },
  );
  const ms = performance.now() - start;
  rmSync(dir, { recursive: true, force: true });
  if (run.status !== 0) throw new Error(`tdx run ${args.join(' ')} failed: ${run.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function queueSweep(repeats = 3): Promise<Array<Record<string, unknown>>> {
  const redis = await startRedis();
  try {
    // sweep-8 on two workers, alternating with the local run so that load changes hit both.
    let workers = await startWorkers(redis.url, 2);
    const local: number[] = [];
    const queued: number[] = [];
    for (let i = 0; i < repeats; i++) {
      local.push(wallMs(SWEEP_8_SPEC, ['--workers', '2']));
      queued.push(wallMs(SWEEP_8_SPEC, ['--queue', redis.url]));
    }
    await stopWorkers(workers);
    // Per run: 8 runs of one step on one worker against one local process.
    workers = await startWorkers(redis.url, 1);
    const tinyLocal: number[] = [];
    const tinyQueued: number[] = [];
    for (let i = 0; i < repeats; i++) {
      tinyLocal.push(wallMs(TINY_SPEC, ['--workers', '1']));
      tinyQueued.push(wallMs(TINY_SPEC, ['--queue', redis.url]));
    }
    await stopWorkers(workers);
    const [l, q, tl, tq] = [local, queued, tinyLocal, tinyQueued].map(median) as [
      number,
      number,
      number,
      number,
    ];
    return [
      {
        workload: 'sweep-8-queue',
        impl: 'tdx run --workers 2',
        wall_ms: Math.round(l),
        runs_ms: local.map(Math.round),
      },
      {
        workload: 'sweep-8-queue',
        impl: 'tdx run --queue, 2 tdx worker',
        wall_ms: Math.round(q),
        runs_ms: queued.map(Math.round),
      },
      { workload: 'sweep-8-queue', ratio: 'queue / workers 2', value: Number((q / l).toFixed(3)) },
      {
        workload: 'queue-overhead',
        impl: `tdx run --workers 1, ${TINY_RUNS} runs of 1 step`,
        wall_ms: Math.round(tl),
      },
      {
        workload: 'queue-overhead',
        impl: `tdx run --queue, 1 tdx worker, ${TINY_RUNS} runs of 1 step`,
        wall_ms: Math.round(tq),
      },
      {
        workload: 'queue-overhead',
        per_run_ms: Number(((tq - tl) / TINY_RUNS).toFixed(1)),
        runs_ms: { local: tinyLocal.map(Math.round), queue: tinyQueued.map(Math.round) },
      },
    ];
  } finally {
    redis.stop();
  }
}
