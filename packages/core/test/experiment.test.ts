import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  readJson,
  readJsonl,
  Registry,
  runExperiment,
  TdxError,
  type ExperimentEvent,
  type RunResult,
} from '../src/index.js';
import { toyPlugins, toySpec } from './fixtures/toy-plugins.js';

const registry = () => Registry.create().register(...toyPlugins);
const tmp = () => mkdtempSync(join(tmpdir(), 'tdx-exp-'));

describe('runExperiment', () => {
  it('writes one folder per optimizer with spec, metrics, analyses and result', async () => {
    const outDir = tmp();
    const events: ExperimentEvent[] = [];
    const result = await runExperiment(toySpec, {
      registry: registry(),
      outDir,
      onEvent: (e) => events.push(e),
    });

    expect(result.runs.map((r) => [r.label, r.status, r.steps])).toEqual([
      ['slow', 'completed', 20],
      ['fast', 'completed', 20],
    ]);
    const slow = result.runs[0]!;
    expect(slow.dir).toBe(join(outDir, 'toy', slow.id));
    expect(slow.id).toMatch(/^slow-[0-9a-f]{8}$/);

    const spec = readJson<Record<string, unknown>>(join(slow.dir, 'spec.json'))!;
    expect(spec.optimizer).toEqual({ name: 'toy-gd', label: 'slow', lr: 0.1 });
    expect(readJson(join(slow.dir, 'run.json'))).toMatchObject({
      label: 'slow',
      group: 'slow',
      seed: 0,
      sweep: {},
    });
    expect(spec.model).toEqual({
      name: 'toy-quadratic',
      label: 'toy-quadratic',
      curvature: 2,
      init: 0,
    });

    const metrics = readJsonl(join(slow.dir, 'metrics.jsonl'));
    expect(metrics.map((m) => m.step)).toEqual([0, 5, 10, 15, 20]);
    // Loss at state t is the loss of batch t at the parameters after t updates.
    expect(metrics[0]).toEqual({
      step: 0,
      optimizer: 'slow',
      loss: 1.1 ** 2,
      evalLoss: 1,
      'toy-curvature': 2,
    });
    expect(metrics[1]!['toy-curvature']).toBeUndefined();
    expect(metrics[2]!['toy-curvature']).toBe(2);

    const analysis = readJson<{ records: Array<{ step: number; value: number; w: number }> }>(
      join(slow.dir, 'analyses', 'toy-curvature.json'),
    )!;
    expect(analysis.records.map((r) => r.step)).toEqual([0, 10, 20]);
    expect(analysis.records[0]).toEqual({ step: 0, value: 2, w: 0 });

    // Both runs start from the same point and see the same data: only the optimizer differs.
    const fast = readJsonl(join(result.runs[1]!.dir, 'metrics.jsonl'));
    expect(fast[0]!.loss).toBe(metrics[0]!.loss);
    expect(fast[1]!.evalLoss as number).toBeLessThan(metrics[1]!.evalLoss as number);

    expect(events[0]!.type).toBe('experiment-start');
    expect(events.at(-1)!.type).toBe('experiment-end');
    // Progress is throttled, but the last step of each run is always reported.
    const last = events.filter((e) => e.type === 'progress' && e.step === 20);
    expect(last).toHaveLength(2);

    // The registered reporter ran over the data read back from disk.
    expect(result.reports).toEqual([join(outDir, 'toy', 'toy-report.txt')]);
    expect(readFileSync(result.reports[0]!, 'utf8')).toBe(
      'slow slow 0 completed 5\nfast fast 0 completed 5',
    );
    const experiment = readJson<{ runs: string[] }>(join(outDir, 'toy', 'experiment.json'))!;
    expect(experiment.runs).toEqual(result.runs.map((r) => r.id));
  });

  it('skips finished runs, and moves a crashed run without checkpoint aside instead of deleting it', async () => {
    const outDir = tmp();
    const first = await runExperiment(toySpec, { registry: registry(), outDir });
    const [slow, fast] = first.runs as [RunResult, RunResult];
    // Simulate a crash of the second run before its first checkpoint: no result, no checkpoint.
    writeFileSync(join(fast.dir, 'result.json'), '');
    rmSync(join(fast.dir, 'checkpoints'), { recursive: true });

    const second = await runExperiment(toySpec, { registry: registry(), outDir });
    expect(second.runs.map((r) => r.status)).toEqual(['skipped', 'completed']);
    const kept = readdirSync(join(outDir, 'toy')).filter((d) =>
      d.startsWith(`${fast.id}.previous-`),
    );
    expect(kept).toHaveLength(1);
    expect(existsSync(join(outDir, 'toy', kept[0]!, 'metrics.jsonl'))).toBe(true);
    const third = await runExperiment(toySpec, { registry: registry(), outDir, rerun: true });
    expect(third.runs.map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(
      readdirSync(join(outDir, 'toy')).filter((d) => d.startsWith(`${slow.id}.previous-`)),
    ).toHaveLength(1);
  });

  it('gives a changed spec a new run id, so results of different specs never mix', async () => {
    const outDir = tmp();
    const a = await runExperiment(toySpec, { registry: registry(), outDir });
    const b = await runExperiment({ ...toySpec, seed: 1 }, { registry: registry(), outDir });
    expect(b.runs[0]!.id).not.toBe(a.runs[0]!.id);
    expect(b.runs[0]!.status).toBe('completed');
  });

  it('lets a failing run fail alone, with its error recorded', async () => {
    const outDir = tmp();
    const spec = {
      ...toySpec,
      optimizers: [
        { name: 'toy-gd', lr: 0.1, failAt: 7, label: 'broken' },
        { name: 'toy-gd', lr: 0.1 },
      ],
    };
    const result = await runExperiment(spec, { registry: registry(), outDir });
    expect(result.runs.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(result.runs[0]!.steps).toBe(7);
    const error = readJson<{ message: string }>(join(result.runs[0]!.dir, 'error.json'))!;
    expect(error.message).toBe('toy failure at step 7');
    // What was logged before the failure stays on disk.
    expect(readJsonl(join(result.runs[0]!.dir, 'metrics.jsonl')).map((m) => m.step)).toEqual([
      0, 5,
    ]);
  });

  it('marks a run whose loss stops being finite as diverged and stops it', async () => {
    const outDir = tmp();
    const spec = {
      ...toySpec,
      optimizers: [{ name: 'toy-gd', lr: 1e154 }],
      train: { steps: 50, logEvery: 1 },
    };
    const result = await runExperiment(spec, { registry: registry(), outDir });
    const run = result.runs[0]!;
    expect(run.status).toBe('diverged');
    expect(run.steps).toBeLessThan(50);
    const last = readJsonl(join(run.dir, 'metrics.jsonl')).at(-1)!;
    expect(last.loss).toBeNull();
  });

  it('fails before any work when the spec is wrong', async () => {
    const outDir = tmp();
    const spec = { ...toySpec, optimizers: [{ name: 'toy-gd', lr: -1 }] };
    await expect(runExperiment(spec, { registry: registry(), outDir })).rejects.toThrow(TdxError);
    expect(readdirSync(outDir)).toEqual([]);
  });

  it("uses the backend given as an option over the spec's", async () => {
    const outDir = tmp();
    await expect(
      runExperiment(toySpec, { registry: registry(), outDir, backend: 'webgpu' }),
    ).rejects.toMatchObject({
      problems: [expect.objectContaining({ path: 'backend.name', value: 'webgpu' })],
    });
  });

  it('records provenance in run.json', async () => {
    const outDir = tmp();
    const result = await runExperiment(toySpec, { registry: registry(), outDir });
    const run = JSON.parse(readFileSync(join(result.runs[0]!.dir, 'run.json'), 'utf8'));
    expect(run).toMatchObject({
      label: 'slow',
      backend: { name: 'toy-backend' },
      node: process.version,
    });
  });
});
