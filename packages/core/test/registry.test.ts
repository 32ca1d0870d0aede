import { describe, expect, it } from 'vitest';
import { definePlugin, pluginRef, Registry, TdxError, z } from '../src/index.js';
import { toyGd, toyModel, toyPlugins } from './fixtures/toy-plugins.js';

const adamLike = definePlugin({
  kind: 'optimizer',
  name: 'adam-like',
  description: 'for tests',
  config: z.object({
    lr: z.number().positive().default(1e-3),
    b1: z.number().min(0).max(1).default(0.9),
  }),
  create: (c) => c,
});

function catchError(fn: () => unknown): TdxError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TdxError) return error;
    throw error;
  }
  throw new Error('expected a TdxError');
}

describe('Registry', () => {
  it('lists what was registered, by kind', () => {
    const registry = Registry.create().register(...toyPlugins);
    expect(registry.names('optimizer')).toEqual(['toy-gd']);
    expect(registry.names('model')).toEqual(['toy-quadratic']);
    expect(registry.list().length).toBe(toyPlugins.length);
  });

  it('merges a child with its parent even after the child registers the same kind', () => {
    // A child lists its parent's plugins, then its own.
    const parent = Registry.create().register(toyGd);
    const child = parent.child().register(adamLike);
    expect(child.names('optimizer')).toEqual(['toy-gd', 'adam-like']);
    expect(parent.names('optimizer')).toEqual(['toy-gd']);
    const sibling = parent.child();
    expect(sibling.names('optimizer')).toEqual(['toy-gd']);
  });

  it('refuses a second plugin with a name already taken up the chain', () => {
    const parent = Registry.create().register(toyGd);
    const { estimate: _estimate, ...base } = toyGd;
    const clash = definePlugin({ ...base, config: z.object({}), create: () => ({}) });

    const error = catchError(() => parent.child().register(clash));
    expect(error.code).toBe('PLUGIN_DUPLICATE');
    expect(error.message).toContain('toy-gd');
  });

  it('creates an instance with defaults applied', () => {
    const registry = Registry.create().register(adamLike);
    expect(registry.create('optimizer', { name: 'adam-like', lr: 0.5 })).toEqual({
      lr: 0.5,
      b1: 0.9,
    });
    expect(registry.create('optimizer', 'adam-like')).toEqual({ lr: 1e-3, b1: 0.9 });
  });

  it('names the path, the value and the choices for an unknown plugin', () => {
    const registry = Registry.create().register(adamLike, toyGd);
    const error = catchError(() =>
      registry.create('optimizer', { name: 'adam-lik' }, { path: 'optimizers[1]' }),
    );
    expect(error.code).toBe('PLUGIN_UNKNOWN');
    const text = error.format();
    expect(text).toContain('optimizers[1].name');
    expect(text).toContain('"adam-lik"');
    expect(text).toContain('did you mean "adam-like"?');
    expect(text).toContain('toy-gd');
  });

  it('reports a bad value with its path and the bound it broke', () => {
    const registry = Registry.create().register(adamLike);
    const error = catchError(() =>
      registry.create('optimizer', { name: 'adam-like', lr: -0.1 }, { path: 'optimizers[0]' }),
    );
    expect(error.code).toBe('PLUGIN_CONFIG');
    expect(error.problems).toEqual([
      { path: 'optimizers[0].lr', message: 'must be > 0', value: -0.1 },
    ]);
  });

  it('reports a wrong type and an unknown key with the allowed keys', () => {
    const registry = Registry.create().register(adamLike);
    const { problems } = registry.check(
      'optimizer',
      { name: 'adam-like', lr: 'fast', bb1: 0.9 },
      'optimizers[0]',
    );
    expect(problems).toContainEqual({
      path: 'optimizers[0].lr',
      message: 'expected number',
      value: 'fast',
    });
    expect(problems).toContainEqual({
      path: 'optimizers[0].bb1',
      message: 'unknown key for optimizer "adam-like"',
      hint: 'did you mean "b1"? allowed keys: lr, b1',
    });
  });

  it('reports a missing required field', () => {
    const registry = Registry.create().register(toyGd);
    const { problems } = registry.check('optimizer', { name: 'toy-gd' }, 'optimizers[0]');
    expect(problems).toEqual([{ path: 'optimizers[0].lr', message: 'required (number)' }]);
  });

  it('passes ctx with the run registry, seed and path to create()', () => {
    const registry = Registry.create().register(toyModel);
    let seen: unknown;
    const spy = definePlugin({
      kind: 'model',
      name: 'spy',
      description: 'records its context',
      config: z.object({}),
      create: (_c, ctx) => (seen = ctx),
    });
    const child = registry.child().register(spy);
    child.create('model', 'spy', { seed: 7, path: 'model' });
    expect(seen).toMatchObject({ seed: 7, path: 'model', registry: child });
  });
});

describe('definePlugin', () => {
  it('rejects a name that is not kebab-case', () => {
    expect(() => definePlugin({ ...toyGd, name: 'Toy_GD' })).toThrow(/kebab-case/);
  });
  it('rejects a config that claims a reserved key', () => {
    const bad = {
      kind: 'analysis' as const,
      name: 'x',
      description: 'x',
      create: () => ({ run: () => ({}) }),
    };
    expect(() => definePlugin({ ...bad, config: z.object({ every: z.number() }) })).toThrow(
      /reserved key\(s\) every/,
    );
    expect(() => definePlugin({ ...bad, config: z.object({ label: z.string() }) })).toThrow(
      /reserved/,
    );
  });
  it('rejects an unknown kind', () => {
    // @ts-expect-error: the kind is checked at run time for JavaScript plugins
    expect(() => definePlugin({ ...toyGd, kind: 'optimiser' })).toThrow(
      /kind "optimiser" is not one of/,
    );
  });
});

describe('former names', () => {
  const renamed = definePlugin({
    kind: 'optimizer',
    name: 'new-name',
    description: 'a plugin that was renamed, with a renamed key',
    config: z.object({ scale: z.number().default(1) }),
    create: (c) => c,
    aliases: ['old-name'],
    renamedKeys: { temperature: 'scale' },
  });

  it('resolves a former name and key to the new ones, with a notice for each', () => {
    const registry = Registry.create().register(renamed);
    const { resolved, problems, notices } = registry.check(
      'optimizer',
      { name: 'old-name', temperature: 3 },
      'optimizers[0]',
    );
    expect(problems).toEqual([]);
    expect(resolved?.plugin.name).toBe('new-name');
    expect(resolved?.config).toEqual({ scale: 3 });
    // The label stays what the spec wrote, so run ids and metric keys do not change.
    expect(resolved?.label).toBe('old-name');
    expect(notices).toEqual([
      'optimizers[0].name: optimizer "old-name" is now called "new-name"; the old name still works',
      'optimizers[0].temperature: "temperature" is now called "scale"; the old name still works',
    ]);
    expect(registry.check('optimizer', 'new-name').notices).toEqual([]);
  });

  it('refuses a former key given together with its new name', () => {
    const registry = Registry.create().register(renamed);
    const { problems } = registry.check('optimizer', {
      name: 'new-name',
      temperature: 3,
      scale: 2,
    });
    expect(problems.map((p) => p.message)).toEqual([
      '"temperature" is the former name of "scale", which is given too',
    ]);
  });
});

describe('resolving once, and injecting nested plugins', () => {
  const created: Array<{ plugin: string; config: unknown; seed: number; path: string }> = [];
  let parses = 0;
  const kernelConfig = z.object({ scale: z.number().positive().default(1) });
  const countedParse = kernelConfig.safeParse.bind(kernelConfig);
  kernelConfig.safeParse = ((input: unknown) => {
    parses++;
    return countedParse(input);
  }) as typeof kernelConfig.safeParse;
  const kernel = definePlugin({
    kind: 'attention-kernel',
    name: 'scaled',
    description: 'for tests',
    config: kernelConfig,
    create: (config, ctx) => {
      created.push({ plugin: 'scaled', config, seed: ctx.seed, path: ctx.path });
      return { kernel: config.scale };
    },
  });
  const model = definePlugin({
    kind: 'model',
    name: 'with-kernel',
    description: 'for tests',
    config: z.object({
      width: z.number().default(4),
      attention: pluginRef('attention-kernel', 'scaled'),
    }),
    // The registry hands create the kernel's instance in place of the reference.
    create: ({ attention, width }) => ({ attention, width }),
  });
  const registry = Registry.create().register(kernel, model);

  it('hands create the nested instance, created with the outer seed at the nested path', () => {
    created.length = 0;
    const instance = registry.create(
      'model',
      { name: 'with-kernel', attention: { name: 'scaled', scale: 2 } },
      { path: 'models[1]', seed: 7 },
    );
    expect(instance).toEqual({ attention: { kernel: 2 }, width: 4 });
    expect(created).toEqual([
      { plugin: 'scaled', config: { scale: 2 }, seed: 7, path: 'models[1].attention' },
    ]);
  });

  it('creates from a resolution without checking the config again', () => {
    parses = 0;
    const resolved = registry.resolve(
      'model',
      { name: 'with-kernel', attention: 'scaled' },
      'model',
    );
    expect(parses).toBe(1);
    // The resolved config shows the nested reference as spec.json writes it.
    expect(resolved.config).toEqual({
      width: 4,
      attention: { name: 'scaled', label: 'scaled', scale: 1 },
    });
    registry.create('model', resolved);
    registry.create('model', resolved);
    expect(parses).toBe(1);
  });

  it('still reports a bad nested reference at its path', () => {
    const { problems } = registry.check(
      'model',
      { name: 'with-kernel', attention: { name: 'scaled', scale: -1 } },
      'model',
    );
    expect(problems.map((p) => p.path)).toEqual(['model.attention.scale']);
  });
});
