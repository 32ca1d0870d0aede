/**
 * The queue's credentials stay in the URL given on the command line: never in the run folders,
 * reports, events, logs or error messages, and never in what Redis stores (a job carries the
 * resolved spec only).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  describeWithRedis,
  killGroup,
  startRedis,
  startTdx,
  type CliProcess,
  type TestRedis,
} from './queue-support.js';
import { quickstartVariant, tdx, tempDir } from './support.js';

const password = 'q7-Secret-pw-4471';

/** Every file under `dir`, with its content. */
function everyFile(dir: string): Array<[string, string]> {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => [f, readFileSync(f, 'latin1')]);
}

describeWithRedis('Redis credentials', () => {
  let redis: TestRedis;
  let worker: CliProcess;
  beforeAll(async () => {
    redis = await startRedis({ password });
  });
  afterAll(async () => {
    if (worker) await killGroup(worker);
    await redis.stop();
  });

  it('appear nowhere: not in run folders, reports, events, logs, errors or Redis', async () => {
    expect(redis.url).toContain(password);
    const spec = quickstartVariant((s) => {
      s.name = 'queue-secret';
      s.train = { steps: 30, logEvery: 5 };
      s.analyses = [{ name: 'top-hessian-eigenvalue', every: 10, maxIterations: 5 }];
      Object.assign(s.dataset as object, { batchSize: 50, evalBatchSize: 50 });
    });
    worker = startTdx(['worker', redis.url, '--concurrency', '2']);
    const out = tempDir();
    const run = tdx(['run', spec, '--queue', redis.url, '--out', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('"type":"run-end"');
    // A wrong password is refused before any work, shown masked.
    const wrong = redis.url.replace(password, 'wrong-pw-8812');
    const refused = tdx(['run', spec, '--queue', wrong, '--out', tempDir()]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`redis://:***@127.0.0.1:${redis.port}`);
    const refusedWorker = tdx(['worker', wrong]);
    expect(refusedWorker.code).toBe(2);
    await killGroup(worker, 'SIGTERM');

    // What Redis holds, uncompressed, on disk.
    const cli = (...args: string[]) =>
      spawnSync(
        'redis-cli',
        ['-p', String(redis.port), '-a', password, '--no-auth-warning', ...args],
        {
          encoding: 'utf8',
        },
      );
    expect(cli('CONFIG', 'SET', 'rdbcompression', 'no').stdout.trim()).toBe('OK');
    expect(cli('SAVE').stdout.trim()).toBe('OK');
    const dump = readFileSync(join(redis.dir, 'dump.rdb'), 'latin1');
    expect(dump).toContain('queue-secret'); // the dump does hold the jobs' data

    const places: Array<[string, string]> = [
      ['tdx run stdout (events)', run.stdout],
      ['tdx run stderr', run.stderr],
      ['refused tdx run', refused.stderr + refused.stdout],
      ['refused tdx worker', refusedWorker.stderr + refusedWorker.stdout],
      ['tdx worker log', worker.stderr() + worker.stdout()],
      ['redis dump', dump],
      ...everyFile(out),
    ];
    expect(places.length).toBeGreaterThan(10);
    for (const [where, text] of places) {
      expect(text.includes(password), where).toBe(false);
      expect(text.includes('wrong-pw-8812'), where).toBe(false);
    }
  }, 300_000);
});
