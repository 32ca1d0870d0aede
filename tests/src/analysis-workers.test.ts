/**
 * SLQ analyses split into parts over analysis worker processes give the same files, byte for
 * byte, as computed in the run's own process.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tdx, tempDir } from './support.js';

const spec = join(tempDir('tdx-spec-'), 'spec.yaml');
writeFileSync(
  spec,
  stringify({
    name: 'split',
    seed: 0,
    model: { name: 'gpt', layers: 1, width: 16, heads: 2 },
    dataset: { name: 'markov-text', vocabulary: 16, length: 8, batchSize: 8, evalBatchSize: 8 },
    optimizer: { name: 'adam', lr: 0.01 },
    train: { steps: 10, logEvery: 5 },
    analyses: [
      { name: 'block-heterogeneity', label: 'js', at: [0, 10], probes: 2, steps: 8 },
      { name: 'hessian-spectrum', label: 'spectrum', at: [10], probes: 2, steps: 8, scope: 'both' },
    ],
  }),
);

function run(analysisWorkers: number) {
  const out = tempDir();
  const result = tdx([
    'run',
    spec,
    '--out',
    out,
    '--json',
    '--analysis-workers',
    `${analysisWorkers}`,
  ]);
  expect(result.code, result.stderr).toBe(0);
  const [dir] = readdirSync(join(out, 'split')).filter((d) => /-[0-9a-f]{8}$/.test(d));
  const events = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.type === 'analysis');
  const file = (name: string) => readFileSync(join(out, 'split', dir!, name), 'utf8');
  return { events, file };
}

describe('analysis workers', () => {
  it('compute the parts of SLQ analyses elsewhere, with identical results', () => {
    const alone = run(1);
    const split = run(2);
    expect(alone.events.every((e) => e.workers === undefined)).toBe(true);
    // 9 weight blocks × 2 probes; the spectrum adds the full Hessian's 2 probes.
    expect(split.events.map((e) => [e.analysis, e.step, e.parts, e.workers])).toEqual([
      ['js', 0, 18, 2],
      ['js', 10, 18, 2],
      ['spectrum', 10, 20, 2],
    ]);
    for (const name of ['analyses/js.json', 'analyses/spectrum.json', 'metrics.jsonl'])
      expect(split.file(name), name).toBe(alone.file(name));
  });
});
