/** `tdx describe`: field docs, nested structure, and plugins loaded with --plugins. */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from '@tdx/core';
import { main, type CliIo } from '../src/index.js';
import { describeConfig, formatFields } from '../src/commands/describe.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

function capture(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    isTTY: false,
    stdout: () => out,
    stderr: () => err,
  };
}

const render = (schema: z.ZodType) => formatFields(describeConfig(schema).fields, 2).join('\n');

describe('describeConfig', () => {
  it('shows every field with its type, bounds, status and doc, aligned', () => {
    const schema = z.object({
      lr: z.number().positive().describe('The step size.'),
      steps: z.number().int().min(1).default(10),
      mode: z.enum(['a', 'b']).optional().describe('Which mode.'),
    });
    expect(render(schema)).toBe(
      [
        '  lr     number > 0  (required)',
        '         The step size.',
        '  steps  integer >= 1  (default 10)',
        '  mode   "a" | "b"  (optional)',
        '         Which mode.',
      ].join('\n'),
    );
  });

  it("lists the fields of an array's objects instead of 'array of object'", () => {
    const schema = z.object({
      ranges: z
        .array(z.strictObject({ min: z.number().positive(), max: z.number().describe('Top.') }))
        .min(1)
        .describe('One range per block.'),
    });
    expect(render(schema)).toBe(
      [
        '  ranges  array of object, at least 1  (required)',
        '          One range per block.',
        '      each item:',
        '        min  number > 0  (required)',
        '        max  number  (required)',
        '             Top.',
      ].join('\n'),
    );
  });

  it('shows each form of a union told apart by a constant key, with its own fields', () => {
    const schema = z.object({
      schedule: z
        .discriminatedUnion('name', [
          z.object({ name: z.literal('constant') }),
          z.object({ name: z.literal('step'), every: z.number().int().min(1) }),
        ])
        .optional(),
    });
    expect(render(schema)).toBe(
      [
        '  schedule  object with name: "constant" | "step"  (optional)',
        '      name: "constant"',
        '      name: "step"',
        '        every  integer >= 1  (required)',
      ].join('\n'),
    );
  });

  it('shows tuples and mixed unions by their structure', () => {
    const schema = z.object({
      range: z.union([
        z.tuple([z.number(), z.number()]),
        z.array(z.tuple([z.number(), z.number()])),
      ]),
      ref: z.union([z.string(), z.looseObject({ name: z.string() })]).default('x'),
    });
    expect(render(schema)).toBe(
      [
        '  range  [number, number] | array of [number, number]  (required)',
        '  ref    string | object  (default "x")',
        '      as object:',
        '        name  string  (required)',
      ].join('\n'),
    );
  });

  it('wraps long docs under the type column', () => {
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const lines = render(z.object({ x: z.number().describe(words) })).split('\n');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines.slice(1)) {
      expect(line.length).toBeLessThanOrEqual(100);
      expect(line.startsWith('     word')).toBe(true);
    }
    expect(lines.slice(1).join(' ').trim().split(/\s+/)).toEqual(words.split(' '));
  });
});

describe('tdx describe', () => {
  it("prints the built-in plugins' field docs and nested fields", async () => {
    const io = capture();
    expect(await main(['node', 'tdx', 'describe', 'optimizer', 'adam'], io)).toBe(0);
    const text = io.stdout();
    expect(text).toContain(
      '  lr                number > 0  (required)\n' + ' '.repeat(20) + 'The learning rate;',
    );
    // The schedule is its forms, not `any`.
    expect(text).toMatch(/schedule +object with name: "constant" \| "linear-warmup" \| "cosine"/);
    expect(text).toContain('      name: "step"\n        every  integer >= 1  (required)');

    const io2 = capture();
    expect(await main(['node', 'tdx', 'describe', 'dataset', 'quadratic'], io2)).toBe(0);
    expect(io2.stdout()).toContain(
      '      each item:\n        min  number > 0  (required)\n        max  number > 0  (required)',
    );
  });

  it('loads plugin modules named with --plugins, and says so when a plugin is unknown', async () => {
    const io = capture();
    expect(await main(['node', 'tdx', 'describe', 'optimizer', 'fixture-sign-gd'], io)).toBe(2);
    expect(io.stderr()).toContain('unknown optimizer "fixture-sign-gd"');
    expect(io.stderr()).toContain('--plugins <package or path>');

    const module = join(fixtures, 'plugin-module.mjs');
    const io2 = capture();
    const args = ['describe', 'optimizer', 'fixture-sign-gd', '--plugins', module];
    expect(await main(['node', 'tdx', ...args], io2)).toBe(0);
    expect(io2.stdout()).toBe(
      'optimizer "fixture-sign-gd": w <- w - lr sign(g)\nconfig:\n' +
        '  lr  number > 0  (default 0.01)\n      The step size.\n',
    );

    const io3 = capture();
    expect(await main(['node', 'tdx', 'list', 'optimizer', '--plugins', `${module},`], io3)).toBe(
      0,
    );
    expect(io3.stdout()).toMatch(/\n {2}adam +Adam/);
    expect(io3.stdout()).toMatch(/\n {2}fixture-sign-gd +w <- w - lr sign\(g\)\n/);
  });

  it('reports every --plugins module that cannot be loaded, with exit code 2', async () => {
    const io = capture();
    const args = ['list', '--plugins', './no-such-module.mjs', '--plugins', '@tdx/no-such-plugin'];
    expect(await main(['node', 'tdx', ...args], io)).toBe(2);
    expect(io.stderr()).toContain('2 of the --plugins module(s) could not be loaded');
    expect(io.stderr()).toContain('--plugins ./no-such-module.mjs: cannot import plugin module');
    expect(io.stderr()).toContain('relative to the current folder');
    expect(io.stderr()).toContain('npm install @tdx/no-such-plugin');
  });
});
