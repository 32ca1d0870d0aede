/**
 * CONTRIBUTING.md's three plugins (an attention kernel, an optimizer, an analysis) as written
 * there: each is checked against a hand computation, then a spec loads the three through one
 * register module (the "one line in register.ts") and runs them together through `tdx run`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisInstance, Plugin } from '@tdx/core';
import {
  ParamSet,
  tf,
  useBackend,
  type AttentionKernel,
  type GradientTransformation,
} from '@tdx/tensor';
import { root, tdx, tempDir } from './support.js';

const guide = readFileSync(join(root, 'CONTRIBUTING.md'), 'utf8');
const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = join(root, 'tests/src/.contributing-examples');

/** The block that exports `name`, written to `<file>.ts`. */
function write(name: string, file: string): string {
  const code = blocks.find((b) => b.includes(`export const ${name} =`));
  if (!code) throw new Error(`CONTRIBUTING.md has no block exporting ${name}`);
  writeFileSync(join(dir, `${file}.ts`), code);
  return `./${file}.js`;
}

let kernel: Plugin;
let optimizer: Plugin;
let analysis: Plugin;

beforeAll(async () => {
  await useBackend('cpu');
  mkdirSync(dir, { recursive: true });
  const files = {
    polynomialKernelPlugin: write('polynomialKernelPlugin', 'polynomial-kernel'),
    signSgdPlugin: write('signSgdPlugin', 'sign-sgd'),
    parameterNormPlugin: write('parameterNormPlugin', 'parameter-norm'),
  };
  // What the three lines in the packages' register.ts amount to.
  writeFileSync(
    join(dir, 'register.ts'),
    [
      "import type { Registry } from '@tdx/core';",
      ...Object.entries(files).map(([name, file]) => `import { ${name} } from '${file}';`),
      `export const register = (registry: Registry) => registry.register(${Object.keys(files).join(', ')});`,
      '',
    ].join('\n'),
  );
  const load = async (file: string, name: string) =>
    ((await import(/* @vite-ignore */ join(dir, file))) as Record<string, Plugin>)[name]!;
  kernel = await load('polynomial-kernel.ts', 'polynomialKernelPlugin');
  optimizer = await load('sign-sgd.ts', 'signSgdPlugin');
  analysis = await load('parameter-norm.ts', 'parameterNormPlugin');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("CONTRIBUTING.md's plugins", () => {
  it('the kernel gives (q·k / scale)², masked weights 0', () => {
    const k = kernel.create(kernel.config.parse({ scale: 2 }), {} as never) as AttentionKernel;
    const q = tf.tensor2d([
      [1, 2],
      [0, -1],
    ]);
    const keys = tf.tensor2d([
      [3, 1],
      [1, 1],
    ]);
    const allowed = tf.tensor2d([
      [1, 0],
      [1, 1],
    ]);
    // q·k: [[5, 3], [-1, -1]], over 2, squared; the masked (0, 1) is 0.
    expect(Array.from(k.weights(q, keys, allowed).dataSync())).toEqual([6.25, 0, 0.25, 0.25]);
    tf.dispose([q, keys, allowed]);
  });

  it('the optimizer steps lr along the sign of each entry', () => {
    const o = optimizer.create({ lr: 0.1 }, {} as never) as GradientTransformation<null>;
    const grads = { w: tf.tensor1d([2, -0.5, 0]) };
    const { updates } = o.update(grads, o.init(grads), grads);
    const step = Array.from(updates.w!.dataSync());
    expect(step[0]).toBeCloseTo(-0.1, 7);
    expect(step[1]).toBeCloseTo(0.1, 7);
    expect(Math.abs(step[2]!)).toBe(0); // sign(0) = 0 (−0 after the negation)
    tf.dispose([grads.w, updates.w!]);
  });

  it('the analysis gives ‖θ‖ over the trainable blocks, and each block’s', async () => {
    const params = ParamSet.create([
      { name: 'a', role: 'mlp', init: tf.tensor1d([3, 4]) },
      { name: 'b', role: 'mlp', init: tf.tensor1d([12]) },
    ]);
    const instance = analysis.create({}, {} as never) as AnalysisInstance;
    // Only the parameters are read: the rest of a target is not needed here.
    const out = await instance.run({ params } as never, { seed: 0 } as never);
    expect(out.value).toBeCloseTo(13, 5); // √(9 + 16 + 144)
    expect(out.data).toEqual({ blocks: { a: 5, b: 12 } });
    params.dispose();
  });

  it('run together from a spec that loads them', () => {
    const out = tempDir();
    const spec = join(dir, 'spec.yaml');
    writeFileSync(
      spec,
      [
        'name: contributing',
        "plugins: ['./register.ts']",
        'backend: cpu',
        'dataset: { name: markov-text, vocabulary: 8, length: 6, batchSize: 4, evalBatchSize: 4 }',
        'model: { name: gpt, layers: 1, width: 8, heads: 2, attention: polynomial }',
        'optimizer: { name: sign-sgd, lr: 0.01 }',
        'train: { steps: 4, logEvery: 2 }',
        'analyses: [{ name: parameter-norm, every: 2 }]',
        'reporters: []',
        '',
      ].join('\n'),
    );
    const result = tdx(['run', spec, '--out', out, '--workers', '1']);
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    const experiment = join(out, 'contributing');
    const run = readdirSync(experiment).find((d) => d.startsWith('sign-sgd'))!;
    const file = JSON.parse(
      readFileSync(join(experiment, run, 'analyses', 'parameter-norm.json'), 'utf8'),
    ) as { records: Array<{ step: number; value: number }> };
    expect(file.records.map((r) => r.step)).toEqual([0, 2, 4]);
    // signSGD moves every entry by lr each step, so the norm changes from step to step.
    const [v0, v2, v4] = file.records.map((r) => r.value);
    expect(v0).toBeGreaterThan(0);
    expect(v2).not.toBe(v0);
    expect(v4).not.toBe(v2);
  });
});
