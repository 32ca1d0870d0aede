/** A sweep spread over worker processes gives the same numbers as one process, run by run. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quickstartVariant, tdx, tempDir } from './support.js';

const spec = quickstartVariant((s) => {
  s.name = 'sweep';
  s.optimizers = undefined;
  s.optimizer = { name: 'adam', lr: 0.01, clipNorm: 1 };
  s.sweep = { 'optimizer.lr': [0.003, 0.01], 'model.layers': [2, 3] };
  s.seeds = [0, 1];
  s.train = { steps: 30, logEvery: 10 };
  s.analyses = [];
  (s.dataset as Record<string, unknown>).batchSize = 100;
  (s.dataset as Record<string, unknown>).evalBatchSize = 100;
});

const runs = (out: string) =>
  readdirSync(join(out, 'sweep'))
    .filter((d) => d.startsWith('adam_'))
    .sort();
const file = (out: string, run: string, name: string) =>
  readFileSync(join(out, 'sweep', run, name), 'utf8');

describe('a sweep of 8 runs', () => {
  it('runs on two worker processes with the same results as on one', () => {
    const parallel = tempDir();
    const result = tdx(['run', spec, '--out', parallel, '--workers', '2']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('8 run(s) on wasm');
    expect(result.stderr).toContain('2 at once');
    const names = runs(parallel);
    expect(names).toHaveLength(8);
    expect(names[0]).toMatch(/^adam_lr=0\.003_layers=2_seed=0-[0-9a-f]{8}$/);
    const pids = new Set(names.map((r) => JSON.parse(file(parallel, r, 'run.json')).pid));
    expect(pids.size).toBe(2);

    const serial = tempDir();
    expect(tdx(['run', spec, '--out', serial, '--workers', '1']).code).toBe(0);
    expect(runs(serial)).toEqual(names);
    for (const run of names)
      expect(file(serial, run, 'metrics.jsonl')).toBe(file(parallel, run, 'metrics.jsonl'));
  });
});
