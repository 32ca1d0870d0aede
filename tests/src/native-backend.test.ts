/**
 * The native backend from the command line: a run on `backend: tensorflow` records TensorFlow's
 * version and threads, and worker processes share the cores (processes × threads never exceeds
 * them). Skipped where `tdx setup tensorflow` has not built the backend, except in CI
 * (TDX_REQUIRE_TENSORFLOW=1), where .ci/run builds it first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exactnessBackends } from '@tdx/tensor';
import { quickstartVariant, tdx, tempDir } from './support.js';

const built = exactnessBackends().includes('tensorflow');

const spec = quickstartVariant((s) => {
  s.name = 'native';
  s.backend = 'tensorflow';
  s.train = { steps: 20, logEvery: 10 };
  s.analyses = [];
  (s.dataset as Record<string, unknown>).batchSize = 100;
  (s.dataset as Record<string, unknown>).evalBatchSize = 100;
});

interface RunInfo {
  backend: { name: string; details: { tensorflow: string; threads: number } };
}

const runInfos = (out: string): RunInfo[] =>
  readdirSync(join(out, 'native'))
    .filter((d) => /^(sgd|adam)-/.test(d))
    .map((d) => JSON.parse(readFileSync(join(out, 'native', d, 'run.json'), 'utf8')) as RunInfo);

describe.skipIf(!built)('the tensorflow backend from the command line', () => {
  it('records TensorFlow and its threads; two workers take half the cores each', () => {
    const one = tempDir();
    expect(tdx(['run', spec, '--out', one, '--workers', '1']).code).toBe(0);
    for (const info of runInfos(one)) {
      expect(info.backend.name).toBe('tensorflow');
      expect(info.backend.details.tensorflow).toBe('2.21.0');
      expect(info.backend.details.threads).toBe(availableParallelism());
    }

    const two = tempDir();
    const result = tdx(['run', spec, '--out', two, '--workers', '2']);
    expect(result.code).toBe(0);
    // (Which worker takes which run depends on which is ready first.)
    for (const info of runInfos(two))
      expect(info.backend.details.threads).toBe(
        Math.max(1, Math.floor(availableParallelism() / 2)),
      );
  });
});
