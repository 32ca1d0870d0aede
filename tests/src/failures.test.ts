/** In a sweep over worker processes, a run that fails, or whose process dies, fails alone. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quickstartVariant, root, tdx, tempDir } from './support.js';

describe('failures in worker processes', () => {
  it('record the failing runs, and the other runs go on', () => {
    const out = tempDir();
    const spec = quickstartVariant((s) => {
      s.name = 'failures';
      s.plugins = [join(root, 'tests/fixtures/failing-optimizer.mjs')];
      s.optimizers = [
        { name: 'failing-sgd', label: 'throws', lr: 0.01, at: 5, how: 'throw' },
        { name: 'failing-sgd', label: 'killed', lr: 0.01, at: 7, how: 'kill' },
        { name: 'adam', lr: 0.01 },
        { name: 'sgd', lr: 0.01 },
      ];
      s.train = { steps: 20, logEvery: 5 };
      s.analyses = [];
      (s.dataset as Record<string, unknown>).batchSize = 50;
      (s.dataset as Record<string, unknown>).evalBatchSize = 50;
    });
    const result = tdx(['run', spec, '--out', out, '--workers', '2']);
    expect(result.code).toBe(1);
    const dir = join(out, 'failures');
    const status = (label: string) => {
      const run = readdirSync(dir).find((d) => d.startsWith(`${label}-`))!;
      return JSON.parse(readFileSync(join(dir, run, 'result.json'), 'utf8')) as {
        status: string;
        error?: string;
      };
    };
    expect(status('throws')).toMatchObject({
      status: 'failed',
      error: 'failing-sgd fails at step 5, as asked',
    });
    expect(status('killed').status).toBe('failed');
    expect(status('killed').error).toContain(
      'the worker process running this run exited (signal SIGKILL)',
    );
    expect(status('adam').status).toBe('completed');
    expect(status('sgd').status).toBe('completed');
    expect(result.stderr).toContain('tdx: done: 4 run(s), 2 failed');
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  });
});
