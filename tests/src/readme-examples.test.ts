/**
 * The README's code runs: every ```ts block of README.md that imports only tdx packages is
 * written next to this test (so imports resolve), imported, and must finish without error.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { root, tempDir } from './support.js';

const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((code) => !/from '\.\.?\//.test(code)); // blocks importing the reader's own files are illustrations
const dir = join(root, 'tests/src/.readme-examples');
const outDir = tempDir('tdx-readme-');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('has runnable examples', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(2);
});

blocks.forEach((code, i) => {
  it(`README example ${i + 1} runs`, async () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `example-${i + 1}.ts`);
    // Results of the examples go to a temporary folder, not the repository.
    writeFileSync(file, code.replace("outDir: 'runs'", `outDir: ${JSON.stringify(outDir)}`));
    await import(/* @vite-ignore */ file);
  });
});
