/**
 * Crash safety: a run stopped mid-way (here by a stop request; in tests/ by SIGKILL) resumes
 * from its checkpoint and ends with exactly the files an uninterrupted run writes.
 */
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkpointPath,
  readJson,
  Registry,
  runExperiment,
  writeReports,
  type ExperimentEvent,
} from '../src/index.js';
import { toyPlugins, toySpec } from './fixtures/toy-plugins.js';

const registry = () => Registry.create().register(...toyPlugins);
const tmp = () => mkdtempSync(join(tmpdir(), 'tdx-resume-'));
const spec = {
  ...toySpec,
  optimizers: [{ name: 'toy-gd', lr: 0.1 }],
  train: { steps: 40, logEvery: 2 },
  analyses: [{ name: 'toy-curvature', every: 3 }],
};

/** Runs the spec, asking it to stop once metrics of `stopAt` are written. */
async function interrupted(outDir: string, stopAt: number) {
  const controller = new AbortController();
  const onEvent = (e: ExperimentEvent) => {
    if (e.type === 'metrics' && e.record.step >= stopAt) controller.abort();
  };
  return runExperiment(spec, { registry: registry(), outDir, signal: controller.signal, onEvent });
}

const files = (dir: string) => ({
  metrics: readFileSync(join(dir, 'metrics.jsonl'), 'utf8'),
  analysis: readJson<{ records: unknown[] }>(join(dir, 'analyses', 'toy-curvature.json'))!.records,
});

describe('resuming', () => {
  it('continues a stopped run from its checkpoint, ending with the same files as an uninterrupted run', async () => {
    const reference = await runExperiment(spec, { registry: registry(), outDir: tmp() });
    const outDir = tmp();
    const stopped = await interrupted(outDir, 10);
    const run = stopped.runs[0]!;
    expect(run.status).toBe('interrupted');
    expect(run.steps).toBe(11);
    expect(readJson<{ step: number }>(checkpointPath(run.dir))!.step).toBe(11);

    const events: ExperimentEvent[] = [];
    const resumed = await runExperiment(spec, {
      registry: registry(),
      outDir,
      onEvent: (e) => events.push(e),
    });
    expect(resumed.runs[0]).toMatchObject({
      status: 'completed',
      steps: 40,
      resumedFrom: 11,
      id: run.id,
    });
    expect(events.find((e) => e.type === 'run-resumed')).toMatchObject({ step: 11 });
    expect(files(run.dir)).toEqual(files(reference.runs[0]!.dir));
    const info = readJson<{ resumptions: Array<{ step: number }> }>(join(run.dir, 'run.json'))!;
    expect(info.resumptions.map((r) => r.step)).toEqual([11]);
  });

  it('drops a torn last line of metrics.jsonl when it resumes', async () => {
    const reference = await runExperiment(spec, { registry: registry(), outDir: tmp() });
    const outDir = tmp();
    const run = (await interrupted(outDir, 20)).runs[0]!;
    appendFileSync(join(run.dir, 'metrics.jsonl'), '{"step":22,"optimizer":"toy-g');
    await runExperiment(spec, { registry: registry(), outDir });
    expect(files(run.dir)).toEqual(files(reference.runs[0]!.dir));
  });

  it('fails clearly on a damaged checkpoint, leaving every earlier result as it was', async () => {
    const outDir = tmp();
    const run = (await interrupted(outDir, 10)).runs[0]!;
    const path = checkpointPath(run.dir);
    const damaged = readFileSync(path, 'utf8').replace('"step": 11', '"step": 12');
    writeFileSync(path, damaged);
    const before = files(run.dir);
    const again = await runExperiment(spec, { registry: registry(), outDir });
    expect(again.runs[0]!.status).toBe('failed');
    expect(again.runs[0]!.error).toBe(
      `the checkpoint ${path} is damaged: its checksum does not match its content`,
    );
    const error = readJson<{ code: string; hint: string }>(join(run.dir, 'error.json'))!;
    expect(error.code).toBe('CHECKPOINT_CORRUPT');
    expect(error.hint).toContain('delete that file to run this run again from the start');
    expect(files(run.dir)).toEqual(before);
    expect(readFileSync(path, 'utf8')).toBe(damaged);

    writeFileSync(path, '{ not json');
    const third = await runExperiment(spec, { registry: registry(), outDir });
    expect(third.runs[0]!.error).toMatch(/is damaged: it is not valid JSON/);
  });

  it('saves checkpoints every K steps when asked, and at the end', async () => {
    const events: ExperimentEvent[] = [];
    await runExperiment(spec, {
      registry: registry(),
      outDir: tmp(),
      checkpoint: { everySteps: 15 },
      onEvent: (e) => events.push(e),
    });
    expect(
      events.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step),
    ).toEqual([15, 30, 40]);
  });
});

describe('sweeps and seeds', () => {
  it('runs every point of the grid with every seed, labelled and grouped', async () => {
    const outDir = tmp();
    const result = await runExperiment(
      { ...spec, seeds: [1, 2], sweep: { 'optimizer.lr': [0.1, 0.3], 'model.curvature': [1] } },
      { registry: registry(), outDir },
    );
    expect(result.runs.map((r) => r.label)).toEqual([
      'toy-gd_lr=0.1_curvature=1_seed=1',
      'toy-gd_lr=0.1_curvature=1_seed=2',
      'toy-gd_lr=0.3_curvature=1_seed=1',
      'toy-gd_lr=0.3_curvature=1_seed=2',
    ]);
    const info = readJson<Record<string, unknown>>(join(result.runs[2]!.dir, 'run.json'))!;
    expect(info).toMatchObject({
      group: 'toy-gd_lr=0.3_curvature=1',
      seed: 1,
      sweep: { 'optimizer.lr': 0.3, 'model.curvature': 1 },
    });
    const runSpec = readJson<Record<string, { lr?: number; curvature?: number }>>(
      join(result.runs[2]!.dir, 'spec.json'),
    )!;
    expect(runSpec.optimizer!.lr).toBe(0.3);
    expect(runSpec.model!.curvature).toBe(1);
    expect(readJson(join(result.runs[2]!.dir, 'spec.json'))).toMatchObject({ seed: 1 });

    // The reports can be rebuilt from the files alone.
    const report = join(outDir, 'toy', 'toy-report.txt');
    writeFileSync(report, '');
    const rebuilt = await writeReports(join(outDir, 'toy'), { registry: registry() });
    expect(rebuilt).toEqual({ files: [report], errors: [], unreadable: [], notLoaded: [] });
    expect(readFileSync(report, 'utf8').split('\n')[3]).toBe(
      'toy-gd_lr=0.3_curvature=1_seed=2 toy-gd_lr=0.3_curvature=1 2 completed 28',
    );
  });
});
