/**
 * Malformed specs (tests/scripts/fuzz-cases.mjs: wrong types, unknown keys, huge numbers, deep
 * nesting, empty files, binary junk, parse bombs, plugin modules that hang or throw): `tdx
 * validate` refuses every one cleanly, exit 2 with a typed error and no stack, and promptly.
 * tests/scripts/fuzz-specs.mjs runs the same cases in processes of their own, with `run` too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '@tdx/cli';
import { fuzzCases } from '../scripts/fuzz-cases.mjs';
import { tempDir } from './support.js';

beforeAll(() => {
  process.env.TDX_PLUGIN_TIMEOUT = '1';
});
afterAll(() => {
  delete process.env.TDX_PLUGIN_TIMEOUT;
});

const cases = fuzzCases();

describe('malformed specs', () => {
  it('are enough of them to mean something', () => {
    expect(cases.length).toBeGreaterThanOrEqual(80);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: refused cleanly', async (_, c) => {
    const dir = join(tempDir('tdx-fuzz-'), c.name);
    mkdirSync(dir);
    const file = join(dir, `spec.${c.ext ?? 'yaml'}`);
    writeFileSync(file, c.content);
    for (const [name, content] of Object.entries(c.files ?? {}))
      writeFileSync(join(dir, name), content);
    let stderr = '';
    const io: CliIo = { out: () => {}, err: (t) => void (stderr += t), isTTY: false };
    const started = performance.now();
    const code = await main(['node', 'tdx', 'validate', file], io);
    expect(performance.now() - started).toBeLessThan(20_000);
    expect({ code, stderr }).toMatchObject({ code: 2 });
    expect(stderr).toMatch(/^tdx: error \[[A-Z_]+\]: /);
    expect(stderr).not.toContain('internal error');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
