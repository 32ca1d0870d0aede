/**
 * Plugins from outside the core: plugins/optimizer-lion and plugins/attention-laplace are
 * packages of their own. A spec loads them through `plugins:` and uses them, and no core
 * package mentions them.
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
    // The search does find the word where it is (so an empty result below means something).
    expect(sourcesMentioning('lion', 'plugins/optimizer-lion/src/**')).toContain(
      'plugins/optimizer-lion/src/index.ts',
    );
    expect(sourcesMentioning('lion', 'packages/*/src/**')).toEqual([]);
  });
});

describe('an attention-kernel plugin package loaded by a spec', () => {
  const kernelSpec = (plugins: string[]) =>
    quickstartVariant((s) => {
      s.plugins = plugins;
      s.dataset = { name: 'markov-text', length: 8, vocabulary: 6, batchSize: 8 };
      delete s.model;
      s.models = [
        { name: 'gpt', label: 'laplace', width: 8, heads: 2, layers: 1, attention: 'laplace' },
        { name: 'gpt', label: 'softmax', width: 8, heads: 2, layers: 1 },
      ];
      s.optimizers = [{ name: 'adam', lr: 0.01 }];
      s.train = { steps: 20, logEvery: 10 };
      s.analyses = [];
    });

  it('runs a spec whose model names the kernel, next to the built-in softmax', () => {
    const out = tempDir();
    const result = tdx(['run', kernelSpec(['@tdx/plugin-laplace-attention']), '--out', out]);
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    const runs = readdirSync(join(out, 'quickstart')).filter((d) =>
      /^(laplace|softmax)_adam-/.test(d),
    );
    expect(runs).toHaveLength(2);
    const finals = runs.map(
      (run) => readJsonl(join(out, 'quickstart', run, 'metrics.jsonl')).at(-1)!.loss as number,
    );
    expect(finals.every(Number.isFinite)).toBe(true);
    expect(finals[0]).not.toBe(finals[1]);
  });

  it('is unknown to a spec that does not list it, at the nested path', () => {
    const result = tdx(['validate', kernelSpec([])]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'models[0].attention.name: unknown attention-kernel (got "laplace")',
    );
  });

  it('needed no edit to any core package: no tdx source mentions it', () => {
    // "Laplace" also names a distribution in the statistics code, so look for the package.
    const name = 'plugin-laplace-attention';
    expect(sourcesMentioning(name, 'plugins/attention-laplace/src/**')).toContain(
      'plugins/attention-laplace/src/index.ts',
    );
    expect(sourcesMentioning(name, 'packages/*/src/**')).toEqual([]);
  });
});

/** Files matching `glob` that mention `word` (case-insensitive, whole word). */
function sourcesMentioning(word: string, glob: string): string[] {
  try {
    return execFileSync('git', ['grep', '-ilw', word, '--', `:(glob)${glob}`], {
      cwd: root,
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
  } catch (error) {
    if ((error as { status?: number }).status === 1) return []; // git grep: no match
    throw error;
  }
}
