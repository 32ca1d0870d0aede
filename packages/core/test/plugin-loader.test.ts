import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPluginModules, Registry, resolveSpec, TdxError } from '../src/index.js';
import { toyPlugins, toySpec } from './fixtures/toy-plugins.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('plugin modules', () => {
  it('registers a module exporting register(registry), resolved from the spec folder', async () => {
    const registry = Registry.create();
    const problems = await loadPluginModules(['./fixtures/plugin-module.mjs'], registry, here);
    expect(problems).toEqual([]);
    expect(registry.names('optimizer')).toEqual(['fixture-sign-gd']);
  });

  it('registers a module whose default export is a plugin', async () => {
    const registry = Registry.create();
    await loadPluginModules(['./fixtures/default-export-module.mjs'], registry, here);
    expect(registry.names('analysis')).toEqual(['fixture-constant']);
  });

  it('reports modules that cannot be imported or register nothing, by their index', async () => {
    const problems = await loadPluginModules(
      ['./fixtures/missing.mjs', '@tdx/no-such-plugin', './fixtures/empty-module.mjs'],
      Registry.create(),
      here,
    );
    expect(problems.map((p) => p.path)).toEqual(['plugins[0]', 'plugins[1]', 'plugins[2]']);
    expect(problems[0]!.message).toContain('cannot import plugin module "./fixtures/missing.mjs"');
    expect(problems[1]!.hint).toContain('npm install @tdx/no-such-plugin');
    expect(problems[2]!.message).toContain('registers nothing');
  });

  it("makes a spec's plugins usable by that spec only", async () => {
    const base = Registry.create().register(...toyPlugins);
    const runRegistry = base.child();
    const spec = await resolveSpec(
      {
        ...toySpec,
        plugins: ['./fixtures/plugin-module.mjs'],
        optimizers: [{ name: 'fixture-sign-gd', lr: 0.2 }],
      },
      { registry: runRegistry, baseDir: here },
    );
    expect(spec.optimizers[0]).toEqual({
      name: 'fixture-sign-gd',
      label: 'fixture-sign-gd',
      config: { lr: 0.2 },
    });
    expect(base.names('optimizer')).toEqual(['toy-gd']);
    await expect(
      resolveSpec(
        { ...toySpec, optimizers: [{ name: 'fixture-sign-gd' }] },
        { registry: base.child() },
      ),
    ).rejects.toBeInstanceOf(TdxError);
  });
});
