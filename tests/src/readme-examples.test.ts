/**
 * The README's code runs as the README says to run it: every ```ts block of README.md that
 * imports only tdx packages is written next to this test (so imports resolve) and run with
 * `npx tsx <file>` (here: the tsx the workspace installs); it must exit 0.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { root, tempDir } from './support.js';

const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((code) => !/from '\.\.?\//.test(code)); // blocks importing the reader's own files are illustrations
const dir = join(root, 'tests/src/.readme-examples');
const tsx = createRequire(import.meta.url).resolve('tsx/cli');
const outDir = tempDir('tdx-readme-');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('has runnable examples', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(2);
});

blocks.forEach((code, i) => {
  it(`README example ${i + 1} runs with npx tsx`, () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `example-${i + 1}.ts`);
    // Results of the examples go to a temporary folder, not the repository.
    writeFileSync(file, code.replace("outDir: 'runs'", `outDir: ${JSON.stringify(outDir)}`));
    execFileSync(process.execPath, [tsx, file], { cwd: dir, stdio: 'pipe', timeout: 120_000 });
  });
});
