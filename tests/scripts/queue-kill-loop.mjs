#!/usr/bin/env node
// Lost workers, repeated: an 8-run sweep on the queue (`tdx run --queue`) with several
// `tdx worker` processes; at random moments a random one of them (mostly one executing a run)
// is SIGKILLed with its run process and replaced by a fresh one, until the sweep ends;
// then another sweep, until enough kills were made. Every sweep's folders must equal an uninterrupted local run's (metrics,
// analyses and final numbers byte for byte), with nothing left behind in Redis or the folders.
//
//   node tests/scripts/queue-kill-loop.mjs [--kills 20] [--seed 1] [--workers 3]
//
// Prints one line per kill and per sweep, then `survived K / tried K SIGKILLs of workers
// (M of them mid-run)`; exits 1 if any sweep differed. Needs redis-server (Debian).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { startRedis } from './redis-server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'packages/cli/bin/tdx.js');
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/** 2 learning rates x 2 depths x 2 seeds of the quickstart task, 200 steps each. */
function writeSpec(dir) {
  const spec = parse(readFileSync(join(root, 'recipes/quickstart.yaml'), 'utf8'));
  spec.name = 'queue-kill-loop';
  delete spec.optimizers;
  spec.optimizer = { name: 'adam', lr: 0.01, clipNorm: 1 };
  spec.sweep = { 'optimizer.lr': [0.003, 0.01], 'model.layers': [2, 3] };
  delete spec.seed;
  spec.seeds = [0, 1];
  spec.train = { steps: 200, logEvery: 5 };
  spec.analyses = [{ name: 'top-hessian-eigenvalue', every: 50, maxIterations: 5 }];
  Object.assign(spec.dataset, { batchSize: 200, evalBatchSize: 200 });
  const file = join(dir, 'spec.yaml');
  writeFileSync(file, stringify(spec));
  return file;
}

/** A seeded PRNG (mulberry32), so a failing sequence of kills can be replayed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What must be identical to the local run, per run folder. */
function snapshot(out) {
  const dir = join(out, 'queue-kill-loop');
  const runs = readdirSync(dir).filter((d) => existsSync(join(dir, d, 'spec.json')));
  return Object.fromEntries(
    runs.sort().map((id) => {
      const read = (f) => readFileSync(join(dir, id, f), 'utf8');
      const result = JSON.parse(read('result.json'));
      const analyses = readdirSync(join(dir, id, 'analyses'))
        .sort()
        .map((f) => read(join('analyses', f)));
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
        },
      ];
    }),
  );
}

/** Leftovers a lost worker must not leave: why, or undefined. */
function leftovers(out, redisPort) {
  const all = readdirSync(out, { recursive: true, encoding: 'utf8' });
  const bad = all.filter(
    (f) => f.includes('.previous-') || /\.tmp-\d/.test(f) || /\.claims\/.+/.test(f),
  );
  const keys = spawnSync(
    'redis-cli',
    ['-p', String(redisPort), '--scan', '--pattern', 'tdx:run:*'],
    {
      encoding: 'utf8',
    },
  ).stdout.trim();
  if (keys) bad.push(`Redis keys ${keys.split('\n').join(', ')}`);
  return bad.length > 0 ? bad.join(', ') : undefined;
}

function startWorker(url, name) {
  const child = spawn(
    process.execPath,
    [cli, 'worker', url, '--concurrency', '1', '--stall-seconds', '2', '--name', name],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const worker = { child, name, log: '', exited: new Promise((r) => child.on('exit', r)) };
  child.stderr.on('data', (d) => (worker.log += d));
  return worker;
}

/** True when the worker's log shows a run started and not ended. */
function midRun(worker) {
  const lines = worker.log.split('\n');
  const last = lines
    .map((l, i) => [l, i])
    .filter(([l]) => /\] /.test(l))
    .at(-1);
  return Boolean(last && /\[run\]/.test(last[0]));
}

async function kill(worker) {
  try {
    process.kill(-worker.child.pid, 'SIGKILL');
  } catch {
    // gone already
  }
  await worker.exited;
}

export async function queueKillLoop({ kills = 20, seed = 1, workers = 3, log = console.log } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'tdx-queue-kill-loop-'));
  const spec = writeSpec(work);
  const reference = join(work, 'reference');
  const ref = spawnSync(
    process.execPath,
    [cli, 'run', spec, '--out', reference, '--workers', '2', '--checkpoint-every', '10'],
    { encoding: 'utf8' },
  );
  if (ref.status !== 0) throw new Error(`the reference run failed: ${ref.stderr}`);
  const expected = snapshot(reference);
  const redis = await startRedis();
  const next = random(seed);
  let tried = 0;
  let survived = 0;
  let midway = 0;
  let names = 0;
  const failures = [];
  try {
    for (let trial = 1; tried < kills; trial++) {
      const out = join(work, `trial-${trial}`);
      const pool = Array.from({ length: workers }, () => startWorker(redis.url, `w${++names}`));
      const submitter = spawn(
        process.execPath,
        [cli, 'run', spec, '--queue', redis.url, '--out', out, '--checkpoint-every', '10'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      submitter.stderr.on('data', (d) => (stderr += d));
      const done = new Promise((r) => submitter.on('exit', (code) => r(code)));
      let finished = false;
      void done.then(() => (finished = true));
      let killedHere = 0;
      let midwayHere = 0;
      while (!finished && tried < kills) {
        // Anywhere: while a worker starts, between runs, mid-step, while it sends a checkpoint.
        await Promise.race([done, wait(300 + next() * 3500)]);
        if (finished) break;
        // Mostly a worker executing a run (waiting a little for one, as workers start slowly on
        // a loaded machine); sometimes any worker, busy, idle or still starting.
        if (next() < 0.8)
          for (let t = 0; t < 200 && !finished && !pool.some(midRun); t++) await wait(100);
        if (finished) break;
        const busy = pool.filter(midRun);
        const candidates = busy.length > 0 ? busy : pool;
        const victim = candidates[Math.floor(next() * candidates.length)];
        const i = pool.indexOf(victim);
        const wasMidRun = midRun(victim);
        await kill(victim);
        pool[i] = startWorker(redis.url, `w${++names}`);
        tried++;
        killedHere++;
        if (wasMidRun) midwayHere++;
        log(
          `  kill ${tried}: worker ${victim.name}${wasMidRun ? ' mid-run' : ' (idle, starting or between runs)'}`,
        );
      }
      const code = await done;
      for (const w of pool) await kill(w);
      let why;
      if (code !== 0)
        why = `tdx run --queue exited ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`;
      else {
        const got = snapshot(out);
        const differs = Object.keys(expected).filter(
          (id) => JSON.stringify(got[id]) !== JSON.stringify(expected[id]),
        );
        why =
          Object.keys(got).length !== Object.keys(expected).length
            ? `runs ${Object.keys(got)} instead of ${Object.keys(expected)}`
            : differs.length > 0
              ? `results differ: ${differs.join(', ')}`
              : leftovers(out, redis.port) && `left behind: ${leftovers(out, redis.port)}`;
      }
      if (why) failures.push(`sweep ${trial}: ${why}`);
      else {
        survived += killedHere;
        midway += midwayHere;
      }
      log(
        `sweep ${trial}: ${killedHere} SIGKILL(s) of workers (${midwayHere} mid-run), ${why ? `FAILED: ${why}` : 'folders identical to the uninterrupted local run'}`,
      );
    }
  } finally {
    await redis.stop();
  }
  return { tried, survived, midway, failures };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const { tried, survived, midway, failures } = await queueKillLoop({
    kills: option('--kills', 20),
    seed: option('--seed', 1),
    workers: option('--workers', 3),
  });
  console.log(
    `survived ${survived} / tried ${tried} SIGKILLs of workers (${midway} of them mid-run)`,
  );
  process.exit(failures.length === 0 && survived === tried ? 0 : 1);
}
