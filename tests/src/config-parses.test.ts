/**
 * How often the pipeline parses a plugin's config: a reference is resolved once (its config
 * checked against the plugin's zod schema, defaults filled in) and every instance is created
 * from that resolution. The quickstart recipe, run end to end on a short schedule, with every
 * plugin schema's parse counted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDefaultRegistry } from '@tdx/cli';
import { runExperiment } from '@tdx/core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { root, tempDir } from './support.js';

describe('config parses per plugin reference', () => {
  it('parses each reference of the quickstart spec once', async () => {
    const registry = createDefaultRegistry();
    const counts = new Map<string, number>();
    for (const plugin of registry.list()) {
      const schema = plugin.config as unknown as Record<string, (...args: unknown[]) => unknown>;
      const key = `${plugin.kind}:${plugin.name}`;
      for (const method of ['parse', 'safeParse'] as const) {
        const original = schema[method]!;
        schema[method] = (...args: unknown[]) => {
          counts.set(key, (counts.get(key) ?? 0) + 1);
          return original.apply(schema, args);
        };
      }
    }
    const spec = parse(readFileSync(join(root, 'recipes/quickstart.yaml'), 'utf8')) as {
      train: { steps: number; logEvery: number };
      dataset: { batchSize: number };
      analyses: Array<{ every: number }>;
    };
    spec.train = { steps: 20, logEvery: 10 };
    spec.dataset.batchSize = 50;
    spec.analyses[0]!.every = 10;
    await runExperiment(spec, { registry, outDir: tempDir() });

    // Each plugin the quickstart names is named once (sgd and adam are two plugins), and every
    // reporter runs by default: parses per plugin are parses per reference.
    const perReference = Object.fromEntries(counts);
    console.log('config parses per reference', perReference);
    for (const n of Object.values(perReference)) expect(n).toBe(1);
  });
});
