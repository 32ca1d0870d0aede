/**
 * A plugin from outside the core: plugins/optimizer-lion is a package of its own. A spec loads
 * it through `plugins:` and uses it, and no core package mentions it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJsonl, quickstartVariant, root, tdx, tempDir } from './support.js';

describe('a plugin package loaded by a spec', () => {
  it('runs a spec that names its optimizer', () => {
    const out = tempDir();
    const spec = quickstartVariant((s) => {
      s.plugins = ['@tdx/plugin-lion'];
      s.optimizers = [
        { name: 'lion', lr: 0.005 },
        { name: 'adam', lr: 0.02 },
      ];
      s.train = { steps: 30, logEvery: 10 };
      s.analyses = [];
      (s.dataset as Record<string, unknown>).batchSize = 200;
    });
    const result = tdx(['run', spec, '--out', out]);
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    const lionRun = readdirSync(join(out, 'quickstart')).find((d) => d.startsWith('lion-'))!;
    const metrics = readJsonl(join(out, 'quickstart', lionRun, 'metrics.jsonl'));
    expect(metrics.map((m) => m.optimizer)).toEqual(['lion', 'lion', 'lion', 'lion']);
    expect(metrics.at(-1)!.evalLoss as number).toBeLessThan(metrics[0]!.evalLoss as number);
  });

  it('is unknown to a spec that does not list it', () => {
    const spec = quickstartVariant((s) => {
      s.optimizers = [{ name: 'lion' }];
    });
    const result = tdx(['validate', spec]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('optimizers[0].name: unknown optimizer (got "lion")');
  });

  it('needed no edit to any core package: no tdx source mentions it', () => {
    const sourcesMentioning = (glob: string): string[] => {
      try {
        return execFileSync('git', ['grep', '-ilw', 'lion', '--', `:(glob)${glob}`], {
          cwd: root,
          encoding: 'utf8',
        })
          .trim()
          .split('\n');
      } catch (error) {
        if ((error as { status?: number }).status === 1) return []; // git grep: no match
        throw error;
      }
    };
    // The search does find the word where it is (so an empty result below means something).
    expect(sourcesMentioning('plugins/optimizer-lion/src/**')).toContain(
      'plugins/optimizer-lion/src/index.ts',
    );
    expect(sourcesMentioning('packages/*/src/**')).toEqual([]);
  });
});
