/** The summary-csv reporter writes summary.csv into the experiment's folder. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry, type ReporterInstance } from '@tdx/core';
import { register, summaryCsv } from '../src/index.js';
import { experiment, run } from './support/data.js';

describe('the summary-csv reporter', () => {
  it('writes summary.csv next to the runs and returns its path', async () => {
    const registry = register(createRegistry());
    const runs = [run('sgd', 'sgd', 0, [1, 0.5]), run('adam', 'adam', 0, [1, 0.25])];
    const data = { ...experiment(runs), dir: mkdtempSync(join(tmpdir(), 'tdx-report-')) };
    const files = await registry
      .create<ReporterInstance>('reporter', 'summary-csv')
      .report(data, { registry });
    expect(files).toEqual([join(data.dir, 'summary.csv')]);
    const text = readFileSync(files[0]!, 'utf8');
    expect(text).toBe(summaryCsv({ runs, spec: {} }));
    expect(text.split('\r\n')).toHaveLength(4); // header, two runs, the final line break
  });

  it('is registered with html by register()', () => {
    expect(register(createRegistry()).names('reporter')).toEqual([
      'summary-csv',
      'html',
      'optimizer-gap',
    ]);
  });
});
