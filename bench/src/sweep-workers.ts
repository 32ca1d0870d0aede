/**
 * sweep-8: wall time of `tdx run` on an 8-run sweep (2 learning rates x 2 depths x 2 seeds of
 * the quickstart task, 300 steps each) with --workers 1 and with --workers <cores>, side by
 * side in one session. Each run is the same work in both, so the ratio is the speed-up.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/cli/bin/tdx.js');

/** The sweep: 2 learning rates x 2 depths x 2 seeds, 300 steps each. */
export const SWEEP_8_SPEC = `name: sweep-8
dataset: { name: icl-linear-regression, batchSize: 500, evalBatchSize: 500 }
model: linear-transformer
optimizer: { name: adam, lr: 0.01, clipNorm: 1 }
sweep: { optimizer.lr: [0.003, 0.01], model.layers: [2, 3] }
seeds: [0, 1]
train: { steps: 300, logEvery: 50 }
reporters: []
`;

function wallMs(workers: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'tdx-bench-sweep-'));
  writeFileSync(join(dir, 'spec.yaml'), SWEEP_8_SPEC);
  const start = performance.now();
  const run = spawnSync(
    process.execPath,
    [cli, 'run', join(dir, 'spec.yaml'), '--out', dir, '--workers', String(workers)],
    {
      encoding: 'utf8',
    },
  );
  const ms = performance.now() - start;
  rmSync(dir, { recursive: true, force: true });
  if (run.status !== 0) throw new Error(`tdx run failed: ${run.stderr}`);
  return ms;
}

export function sweepWorkers(): Array<Record<string, unknown>> {
  const cores = availableParallelism();
  const serial = wallMs(1);
  const parallel = wallMs(cores);
  return [
    { workload: 'sweep-8', impl: 'tdx --workers 1', wall_ms: Math.round(serial) },
    { workload: 'sweep-8', impl: `tdx --workers ${cores}`, wall_ms: Math.round(parallel) },
    {
      workload: 'sweep-8',
      ratio: `workers ${cores} / workers 1`,
      value: Number((parallel / serial).toFixed(3)),
    },
  ];
}
