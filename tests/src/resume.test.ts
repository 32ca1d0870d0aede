/**
 * Crash safety end to end: a run killed with SIGKILL mid-way resumes from its checkpoint when
 * the spec runs again, and ends with exactly the metrics of an uninterrupted run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quickstartVariant, readJsonl, root, tdx, tempDir } from './support.js';

const spec = quickstartVariant((s) => {
  s.name = 'resume';
  s.optimizers = [{ name: 'adam', lr: 0.02, clipNorm: 1 }];
  s.train = { steps: 300, logEvery: 5 };
  s.analyses = [{ name: 'top-hessian-eigenvalue', every: 50, maxIterations: 10 }];
  (s.dataset as Record<string, unknown>).batchSize = 200;
  (s.dataset as Record<string, unknown>).evalBatchSize = 200;
});

/** The run's folder once it exists (polling while `tdx run` starts). */
const findRunDir = (out: string): string | undefined => {
  const dir = join(out, 'resume');
  const run = existsSync(dir) ? readdirSync(dir).find((d) => d.startsWith('adam-')) : undefined;
  return run && join(dir, run);
};

const runDir = (out: string) => {
  const dir = join(out, 'resume');
  return join(
    dir,
    readdirSync(dir).find((d) => d.startsWith('adam-'))!,
  );
};

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `tdx run`, waits for a checkpoint past step 60, and kills the whole process group. */
async function killMidway(out: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [join(root, 'packages/cli/bin/tdx.js'), 'run', spec, '--out', out, '--checkpoint-every', '20'],
    {
      cwd: root,
      detached: true,
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    await wait(50);
    const dir = findRunDir(out);
    const checkpoint = dir && join(dir, 'checkpoints', 'latest.json');
    if (
      checkpoint &&
      existsSync(checkpoint) &&
      JSON.parse(readFileSync(checkpoint, 'utf8')).step >= 60
    )
      break;
    if (Date.now() > deadline) throw new Error('no checkpoint after a minute');
  }
  process.kill(-child.pid!, 'SIGKILL');
  await new Promise((r) => child.on('exit', r));
}

describe('Ctrl-C', () => {
  it('stops every run with a checkpoint, exits 130, and the next run resumes to the same results', async () => {
    const reference = tempDir();
    expect(tdx(['run', spec, '--out', reference]).code).toBe(0);

    const out = tempDir();
    const child = spawn(
      process.execPath,
      [join(root, 'packages/cli/bin/tdx.js'), 'run', spec, '--out', out],
      {
        cwd: root,
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 60_000;
    const started = () => {
      const metrics = findRunDir(out) && join(findRunDir(out)!, 'metrics.jsonl');
      return Boolean(metrics && existsSync(metrics) && readJsonl(metrics).length > 8);
    };
    while (!started()) {
      await wait(50);
      if (Date.now() > deadline) throw new Error('the run did not start');
    }
    // As a terminal does: the signal goes to the whole process group.
    process.kill(-child.pid!, 'SIGINT');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(130);
    expect(stderr).toContain('tdx: stopping: every run saves a checkpoint');
    const dir = runDir(out);
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    expect(result.status).toBe('interrupted');
    const checkpoint = JSON.parse(readFileSync(join(dir, 'checkpoints', 'latest.json'), 'utf8'));
    expect(checkpoint.step).toBe(result.steps);

    const again = tdx(['run', spec, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`resuming from its checkpoint at step ${result.steps}`);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(
      readFileSync(join(runDir(reference), 'metrics.jsonl'), 'utf8'),
    );
  });
});

describe('a run killed with SIGKILL', () => {
  it('resumes from its checkpoint and ends with the metrics of an uninterrupted run', async () => {
    const reference = tempDir();
    expect(tdx(['run', spec, '--out', reference]).code).toBe(0);

    const out = tempDir();
    await killMidway(out);
    const dir = runDir(out);
    expect(existsSync(join(dir, 'result.json'))).toBe(false);
    const partial = readJsonl(join(dir, 'metrics.jsonl'));
    expect(partial.length).toBeGreaterThan(10);
    expect(partial.length).toBeLessThan(61);

    const again = tdx(['run', spec, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/resuming from its checkpoint at step \d+/);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(
      readFileSync(join(runDir(reference), 'metrics.jsonl'), 'utf8'),
    );
    const analyses = (d: string) =>
      JSON.parse(readFileSync(join(d, 'analyses', 'top-hessian-eigenvalue.json'), 'utf8')).records;
    expect(analyses(dir)).toEqual(analyses(runDir(reference)));
  });

  it('fails clearly on a damaged checkpoint, and leaves the results already written alone', async () => {
    const out = tempDir();
    await killMidway(out);
    const dir = runDir(out);
    const checkpoint = join(dir, 'checkpoints', 'latest.json');
    const damaged = readFileSync(checkpoint, 'utf8').slice(0, 200);
    writeFileSync(checkpoint, damaged);
    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');

    const again = tdx(['run', spec, '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`FAILED after`);
    expect(again.stderr).toContain(`the checkpoint ${checkpoint} is damaged: it is not valid JSON`);
    expect(again.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(metrics);
    expect(readFileSync(checkpoint, 'utf8')).toBe(damaged);
  });
});
