/**
 * Plugin modules as a new user writes them: a TypeScript file next to the spec, and a package
 * that is installed but not built. Through the built `tdx` command, as a user runs it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root, tdx, tempDir } from './support.js';

// A user's plugin lives in their project, where tdx is installed: here, inside this repository
// (an ES module package), so '@tdx/*' resolve from it.
const projectDir = join(root, 'tests/src/.plugin-projects');
afterAll(() => rmSync(projectDir, { recursive: true, force: true }));

const SPEC = (plugins: string, optimizer: string) => `name: plugin-loading
plugins: [${plugins}]
dataset: { name: icl-linear-regression, batchSize: 50, evalBatchSize: 50 }
model: { name: linear-transformer, layers: 1 }
optimizer: ${optimizer}
train: { steps: 3 }
`;

describe('plugin modules', () => {
  it('loads a TypeScript plugin next to the spec (through tsx)', () => {
    mkdirSync(projectDir, { recursive: true });
    const dir = mkdtempSync(join(projectDir, 'ts-'));
    writeFileSync(
      join(dir, 'sign-gd.ts'),
      `import { definePlugin, z, type Registry } from '@tdx/core';
import { chain, scaleByLearningRate } from '@tdx/optimizers';
import { tf, type GradientTransformation } from '@tdx/tensor';

const signs: GradientTransformation = {
  init: () => ({}),
  update: (grads, state) => ({
    updates: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.sign(g)])),
    state,
  }),
};

export function register(registry: Registry): void {
  registry.register(
    definePlugin({
      kind: 'optimizer',
      name: 'ts-sign-gd',
      description: 'w <- w - lr sign(g), from a TypeScript file',
      config: z.object({ lr: z.number().positive().default(0.01) }),
      create: (c) => chain(signs, scaleByLearningRate(c.lr)),
    }),
  );
}
`,
    );
    const specDir = join(dir, 'spec');
    mkdirSync(specDir);
    const spec = join(specDir, 'spec.yaml');
    writeFileSync(spec, SPEC("'../sign-gd.ts'", '{ name: ts-sign-gd, lr: 0.01 }'));
    const result = tdx(['validate', spec]);
    expect(result.stderr).not.toContain('Unknown file extension');
    expect(result.code, result.stderr).toBe(0);
  });

  it('says a package is installed but not built, and how to build it', () => {
    const dir = tempDir('tdx-unbuilt-');
    const pkg = join(dir, 'node_modules', '@someone', 'plugin-unbuilt');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({
        name: '@someone/plugin-unbuilt',
        type: 'module',
        exports: { '.': { default: './dist/index.js' } },
      }),
    );
    const spec = join(dir, 'spec.yaml');
    writeFileSync(spec, SPEC("'@someone/plugin-unbuilt'", '{ name: adam, lr: 0.01 }'));
    const result = tdx(['validate', spec]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is installed');
    expect(result.stderr).toContain('but not built');
    expect(result.stderr).toContain('dist/index.js is missing');
    expect(result.stderr).toContain('npm run build');
  });
});
