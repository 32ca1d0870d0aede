import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  readSpecFile,
  Registry,
  resolveSpec,
  specToJson,
  TdxError,
  type Problem,
} from '../src/index.js';
import { toyPlugins, toySpec } from './fixtures/toy-plugins.js';

const registry = () => Registry.create().register(...toyPlugins);

async function problemsOf(
  raw: unknown,
  source?: ReturnType<typeof readSpecFile>,
): Promise<Problem[]> {
  try {
    await resolveSpec(raw, { registry: registry().child(), ...(source ? { source } : {}) });
  } catch (error) {
    if (error instanceof TdxError) {
      expect(error.code).toBe('SPEC_INVALID');
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected the spec to be rejected');
}

describe('resolveSpec', () => {
  it('fills in defaults everywhere and labels each reference', async () => {
    const spec = await resolveSpec(toySpec, { registry: registry() });
    expect(spec.seeds).toEqual([0]);
    expect(spec.models[0]).toEqual({
      name: 'toy-quadratic',
      label: 'toy-quadratic',
      config: { curvature: 2, init: 0 },
    });
    expect(spec.optimizers.map((o) => o.label)).toEqual(['slow', 'fast']);
    expect(spec.analyses[0]).toMatchObject({
      name: 'toy-curvature',
      label: 'toy-curvature',
      every: 10,
      config: { scale: 1 },
    });
    // The resolved spec, written back, is a valid spec that resolves to itself.
    const again = await resolveSpec(specToJson(spec), { registry: registry() });
    expect(again).toEqual(spec);
  });

  it('reports every problem at once, each with its path', async () => {
    const problems = await problemsOf({
      ...toySpec,
      model: { name: 'toy-quadratc' },
      optimizers: [
        { name: 'toy-gd', lr: -1 },
        { name: 'toy-gd', lr: 'big' },
      ],
      train: { steps: 10, logEvry: 2 },
    });
    // Structure problems and plugin problems come together: one run of `tdx validate` is enough.
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    expect(Object.keys(byPath)).toEqual([
      'train.logEvry',
      'model.name',
      'optimizers[0].lr',
      'optimizers[1].lr',
    ]);
    expect(byPath['train.logEvry']).toMatchObject({
      message: 'unknown key',
      hint: expect.stringContaining('did you mean "logEvery"?'),
    });
    expect(byPath['model.name']).toMatchObject({
      value: 'toy-quadratc',
      hint: expect.stringContaining('did you mean "toy-quadratic"?'),
    });
    expect(byPath['optimizers[0].lr']).toMatchObject({ message: 'must be > 0', value: -1 });
    expect(byPath['optimizers[1].lr']).toMatchObject({ message: 'expected number', value: 'big' });
  });

  it('reports missing fields', async () => {
    const { model: _m, train: _t, ...rest } = toySpec;
    const problems = await problemsOf(rest);
    expect(problems).toContainEqual({ path: 'train', message: 'required (object)' });
    const onlyModel = await problemsOf({ ...toySpec, model: undefined });
    expect(onlyModel[0]).toMatchObject({
      path: 'model',
      message: expect.stringContaining('required'),
    });
  });

  it('rejects duplicate labels and analysis steps past the end', async () => {
    const problems = await problemsOf({
      ...toySpec,
      optimizers: [
        { name: 'toy-gd', lr: 0.1 },
        { name: 'toy-gd', lr: 0.2 },
      ],
      analyses: [{ name: 'toy-curvature', at: [5, 99] }],
    });
    expect(problems.map((p) => p.path).sort()).toEqual([
      'analyses[0].at[1]',
      'optimizers[1].label',
    ]);
  });

  it('points problems at the line of the YAML file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdx-spec-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'name: toy',
        'backend: toy-backend',
        'trainer: toy-trainer',
        'dataset: toy-data',
        'model: toy-quadratic',
        'optimizers:',
        '  - name: toy-gd',
        '    lr: -0.5',
        'train:',
        '  steps: 3',
      ].join('\n'),
    );
    const problems = await problemsOf(readSpecFile(file).raw, readSpecFile(file));
    expect(problems).toEqual([
      { path: 'optimizers[0].lr', message: 'must be > 0', value: -0.5, location: `${file}:8:9` },
    ]);
  });

  it('reads YAML merge keys, so entries can share a base config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdx-spec-'));
    const file = join(dir, 'merged.yaml');
    writeFileSync(
      file,
      [
        'optimizers:',
        '  - &base { name: toy-gd, label: slow, lr: 0.1 }',
        '  - { <<: *base, label: fast, lr: 0.5 }',
      ].join('\n'),
    );
    expect(readSpecFile(file).raw).toEqual({
      optimizers: [
        { name: 'toy-gd', label: 'slow', lr: 0.1 },
        { name: 'toy-gd', label: 'fast', lr: 0.5 },
      ],
    });
  });

  it('reports a YAML syntax error with its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdx-spec-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'name: toy\noptimizers: [a, b\n');
    try {
      readSpecFile(file);
      expect.unreachable();
    } catch (error) {
      expect((error as TdxError).code).toBe('SPEC_PARSE');
      expect((error as TdxError).problems[0]!.location).toMatch(/broken\.yaml:\d+:\d+/);
    }
  });

  it('says clearly when the spec file does not exist', () => {
    expect(() => readSpecFile('/nonexistent/spec.yaml')).toThrow(/cannot read spec file/);
  });
});
