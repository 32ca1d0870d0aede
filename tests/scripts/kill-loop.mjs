#!/usr/bin/env node
// Crash safety, repeated: runs a spec, SIGKILLs the whole process group at random moments
// (parent, workers, analysis workers at once, as the OOM killer or a pulled plug would), starts
// it again, and so on until it finishes; then compares every result with an uninterrupted run:
// metrics.jsonl byte for byte, the analyses' records, the final numbers. Also checks that
// nothing is left behind (no `.previous-*` folders, no temporary files, no claims).
//
//   node tests/scripts/kill-loop.mjs [--kills 48] [--seed 1] [--workers 2]
//
// Prints one line per trial and `survived K / tried K SIGKILLs`; exits 1 if any trial differed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'packages/cli/bin/tdx.js');
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/** The quickstart with two optimizers, an analysis, checkpoints every 20 steps: ~10 s a run. */
function writeSpec(dir) {
  const spec = parse(readFileSync(join(root, 'recipes/quickstart.yaml'), 'utf8'));
  spec.name = 'kill-loop';
  spec.train = { steps: 300, logEvery: 5 };
  spec.analyses = [{ name: 'top-hessian-eigenvalue', every: 50, maxIterations: 10 }];
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

const args = (spec, out, workers) => [
  cli,
  'run',
  spec,
  '--out',
  out,
  '--workers',
  String(workers),
  '--checkpoint-every',
  '20',
];

/** What must be identical to the uninterrupted run, per run folder. */
function snapshot(out) {
  const dir = join(out, 'kill-loop');
  const runs = readdirSync(dir).filter((d) => existsSync(join(dir, d, 'spec.json')));
  return Object.fromEntries(
    runs.sort().map((id) => {
      const read = (f) => readFileSync(join(dir, id, f), 'utf8');
      const result = JSON.parse(read('result.json'));
      const analyses = readdirSync(join(dir, id, 'analyses')).map(
        (f) => JSON.parse(read(join('analyses', f))).records,
      );
      return [
        id,
        {
          metrics: read('metrics.jsonl'),
          analyses: JSON.stringify(analyses),
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

/** Leftovers a crash must not leave after the spec has run again: why, or undefined. */
function leftovers(out) {
  const all = readdirSync(out, { recursive: true, encoding: 'utf8' });
  const bad = all.filter(
    (f) => f.includes('.previous-') || /\.tmp-\d/.test(f) || /\.claims\/.+/.test(f),
  );
  return bad.length > 0 ? bad.join(', ') : undefined;
}

export async function killLoop({ kills = 48, seed = 1, workers = 2, log = console.log } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'tdx-kill-loop-'));
  const spec = writeSpec(work);
  const reference = join(work, 'reference');
  const ref = spawnSync(process.execPath, args(spec, reference, workers), { encoding: 'utf8' });
  if (ref.status !== 0) throw new Error(`the reference run failed: ${ref.stderr}`);
  const expected = snapshot(reference);
  const next = random(seed);
  let tried = 0;
  let survived = 0;
  const failures = [];
  for (let trial = 1; tried < kills; trial++) {
    const out = join(work, `trial-${trial}`);
    let killedHere = 0;
    for (;;) {
      const child = spawn(process.execPath, args(spec, out, workers), {
        detached: true,
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.on('exit', (code) => r(code)));
      // Anywhere from start-up (before the first checkpoint) to the end of the runs.
      const delay = 200 + next() * 9000;
      const finished = await Promise.race([exited.then(() => true), wait(delay).then(() => false)]);
      if (finished) break;
      if (tried >= kills) {
        await exited; // enough kills: let this one finish
        break;
      }
      process.kill(-child.pid, 'SIGKILL');
      await exited;
      tried++;
      killedHere++;
    }
    const final = spawnSync(process.execPath, args(spec, out, workers), { encoding: 'utf8' });
    let why;
    if (final.status !== 0) why = `the last run exited ${final.status}: ${final.stderr.trim()}`;
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
            : leftovers(out) && `left behind: ${leftovers(out)}`;
    }
    if (why) failures.push(`trial ${trial}: ${why}`);
    else survived += killedHere;
    log(
      `trial ${trial}: ${killedHere} SIGKILL(s), ${why ? `FAILED: ${why}` : 'results identical to the uninterrupted run'}`,
    );
  }
  return { tried, survived, failures };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const { tried, survived, failures } = await killLoop({
    kills: option('--kills', 48),
    seed: option('--seed', 1),
    workers: option('--workers', 2),
  });
  console.log(`survived ${survived} / tried ${tried} SIGKILLs`);
  process.exit(failures.length === 0 && survived === tried ? 0 : 1);
}
