/**
 * Faults in process, on the toy plugins: damaged records, failed writes, divergence, plugin
 * modules that hang or throw, sizes that cannot fit, and specs or paths that say nonsense.
 * (tests/src/faults.test.ts does the same through the `tdx` command, with real processes.)
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  definePlugin,
  JsonlWriter,
  loadPluginModules,
  parsePath,
  readJsonlFile,
  readSpecFile,
  Registry,
  resolveSpec,
  runExperiment,
  setPath,
  TdxError,
  writeTextAtomic,
  z,
  type ExperimentEvent,
  type Problem,
} from '../src/index.js';
import { toyPlugins, toySpec } from './fixtures/toy-plugins.js';

const registry = () => Registry.create().register(...toyPlugins);
const tmp = () => mkdtempSync(join(tmpdir(), 'tdx-faults-'));
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).map(String);

afterEach(() => {
  delete process.env.TDX_FAULT_WRITE;
  delete process.env.TDX_PLUGIN_TIMEOUT;
});

function thrown(f: () => unknown): TdxError {
  try {
    f();
  } catch (error) {
    if (error instanceof TdxError) return error;
    throw error;
  }
  throw new Error('expected a TdxError');
}

async function rejected(p: Promise<unknown>): Promise<TdxError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof TdxError) return error;
    throw error;
  }
  throw new Error('expected a TdxError');
}

describe('metrics.jsonl with a damaged line', () => {
  it('is read past the damaged line, which is reported by its number', () => {
    const path = join(tmp(), 'metrics.jsonl');
    writeFileSync(path, '{"step":0,"loss":3}\n{"step":1,"lo\n{"step":2,"loss":1}\n[1]\n');
    const content = readJsonlFile(path, { requireStep: true });
    expect(content.records.map((r) => r.step)).toEqual([0, 2]);
    expect(content.damaged.map((d) => d.line)).toEqual([2, 4]);
    expect(content.damaged[1]!.reason).toBe('not a JSON object');
  });

  it('keeps the damaged line and every line after it when the run resumes', async () => {
    const spec = { ...toySpec, optimizers: [{ name: 'toy-gd', lr: 0.1 }] };
    const outDir = tmp();
    const first = await runExperiment(spec, { registry: registry(), outDir });
    const dir = first.runs[0]!.dir;
    const original = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n');
    // Line 2 cut in half (a disk error, an editor); the result removed, so the run resumes.
    const damaged = [...original];
    damaged[1] = damaged[1]!.slice(0, 12);
    writeFileSync(join(dir, 'metrics.jsonl'), damaged.join('\n'));
    writeFileSync(join(dir, 'result.json'), '');
    const events: ExperimentEvent[] = [];
    await runExperiment(spec, { registry: registry(), outDir, onEvent: (e) => events.push(e) });
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(damaged.join('\n'));
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings.join('\n')).toContain(`${join(dir, 'metrics.jsonl')}:2: a damaged record`);
  });
});

describe('a failed write', () => {
  it('leaves the target as it was and no temporary file', () => {
    const dir = tmp();
    const path = join(dir, 'result.json');
    writeFileSync(path, 'before');
    process.env.TDX_FAULT_WRITE = 'ENOSPC:result';
    const error = thrown(() => writeTextAtomic(path, 'after'));
    expect(error.code).toBe('IO');
    expect(error.message).toBe(`cannot write ${path}: no space left on the device (ENOSPC)`);
    expect(readFileSync(path, 'utf8')).toBe('before');
    expect(readdirSync(dir)).toEqual(['result.json']);
  });

  it('of a metrics line leaves the file as it was, ending with a whole line', () => {
    const path = join(tmp(), 'metrics.jsonl');
    const writer = new JsonlWriter(path);
    writer.append({ step: 0 });
    process.env.TDX_FAULT_WRITE = 'ENOSPC';
    expect(thrown(() => writer.append({ step: 1 })).message).toContain('ENOSPC');
    writer.close();
    expect(readFileSync(path, 'utf8')).toBe('{"step":0}\n');
  });

  it('fails that run alone, with its error.json, and the others go on', async () => {
    const outDir = tmp();
    process.env.TDX_FAULT_WRITE = 'ENOSPC:slow-[0-9a-f]+/analyses';
    const result = await runExperiment(toySpec, { registry: registry(), outDir });
    expect(result.runs.map((r) => r.status)).toEqual(['failed', 'completed']);
    const failed = result.runs[0]!;
    expect(failed.error).toContain('no space left on the device (ENOSPC)');
    const error = JSON.parse(readFileSync(join(failed.dir, 'error.json'), 'utf8'));
    expect(error.code).toBe('IO');
    expect(filesUnder(join(outDir, 'toy')).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('of every file of a run still ends the run as failed, with the reason in its result', async () => {
    const outDir = tmp();
    process.env.TDX_FAULT_WRITE = 'ENOSPC:slow-';
    const result = await runExperiment(toySpec, { registry: registry(), outDir });
    expect(result.runs.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(result.runs[0]!.error).toMatch(
      /ENOSPC.*\(error\.json and result\.json could not be written either\)$/,
    );
  });

  it('of the results folder itself is bad input when --out goes through a file', async () => {
    const outDir = tmp();
    writeFileSync(join(outDir, 'file'), '');
    const error = await rejected(
      runExperiment(toySpec, { registry: registry(), outDir: join(outDir, 'file', 'sub') }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('a part of the path is a file, not a folder (ENOTDIR)');
  });
});

describe('divergence', () => {
  it('records the step and the non-finite value in metrics.jsonl and result.json', async () => {
    const outDir = tmp();
    const spec = {
      ...toySpec,
      optimizers: [{ name: 'toy-gd', lr: 1e154 }],
      train: { steps: 50, logEvery: 10 },
    };
    const result = await runExperiment(spec, { registry: registry(), outDir });
    const run = result.runs[0]!;
    // Loss (a/2)(w - target)² with a = 2, w = 0, target 1.1 at step 0: 1.21; the update makes
    // w = 2.2e154, whose loss at step 1, about 4.8e308, is past the largest double.
    expect(run).toMatchObject({
      status: 'diverged',
      divergence: { step: 1, quantity: 'loss', value: 'Infinity', lastFiniteStep: 0 },
    });
    expect(run.divergence!.lastFiniteLoss).toBeCloseTo(1.21, 12);
    const records = readFileSync(join(run.dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    // Step 1 is not a logged step (logEvery 10), but where it diverged is always recorded.
    expect(JSON.parse(records.at(-1)!)).toEqual({
      step: 1,
      optimizer: 'toy-gd',
      loss: null,
      nonFinite: 'loss=Infinity',
    });
    expect(run.finalEvalLoss).toBeUndefined();
  });

  it('is skipped by a second run unless --rerun-diverged asks for it again', async () => {
    const outDir = tmp();
    const spec = {
      ...toySpec,
      optimizers: [
        { name: 'toy-gd', lr: 1e154, label: 'wild' },
        { name: 'toy-gd', lr: 0.1, label: 'calm' },
      ],
    };
    await runExperiment(spec, { registry: registry(), outDir });
    const events: ExperimentEvent[] = [];
    const again = await runExperiment(spec, {
      registry: registry(),
      outDir,
      onEvent: (e) => events.push(e),
    });
    expect(again.runs.map((r) => [r.status, r.previousStatus])).toEqual([
      ['skipped', 'diverged'],
      ['skipped', 'completed'],
    ]);
    expect(events.find((e) => e.type === 'run-skipped')).toMatchObject({
      status: 'diverged',
      reason: 'diverged earlier, at step 1 (loss Infinity)',
    });
    const rerun = await runExperiment(spec, { registry: registry(), outDir, rerunDiverged: true });
    expect(rerun.runs.map((r) => r.status)).toEqual(['diverged', 'skipped']);
    expect(readdirSync(join(outDir, 'toy')).filter((d) => d.includes('.previous-'))).toHaveLength(
      1,
    );
  });
});

describe('plugin modules', () => {
  const dir = () => {
    const d = tmp();
    writeFileSync(join(d, 'hangs.mjs'), 'await new Promise(() => {});\nexport const x = 1;\n');
    writeFileSync(
      join(d, 'throws.mjs'),
      "export function register() { throw new Error('no registry for you'); }\n",
    );
    return d;
  };

  it('that never finish loading fail after the time limit, as bad input', async () => {
    process.env.TDX_PLUGIN_TIMEOUT = '0.3';
    const started = performance.now();
    const problems = await loadPluginModules(['./hangs.mjs'], Registry.create(), dir());
    expect(performance.now() - started).toBeLessThan(5000);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe(
      'plugin module "./hangs.mjs" did not finish loading within 0.3 s',
    );
    expect(problems[0]!.hint).toContain('TDX_PLUGIN_TIMEOUT');
  });

  it('whose register() throws are bad input, with its message', async () => {
    const problems = await loadPluginModules(['./throws.mjs'], Registry.create(), dir());
    expect(problems[0]!.message).toBe(
      'plugin module "./throws.mjs": its register(registry) failed: no registry for you',
    );
  });
});

describe('sizes', () => {
  const sized = definePlugin({
    kind: 'model',
    name: 'sized',
    description: 'a model that says how many parameters it has',
    config: z.object({ parameters: z.number().default(10) }),
    create: () => ({ curvature: 2, init: 0 }),
    estimate: (c) => ({ parameters: c.parameters, flopsPerStep: 6 * c.parameters }),
  });
  const reg = () => registry().register(sized);

  it('refuses a run that cannot fit in memory before any work, unless forced', async () => {
    const outDir = tmp();
    const spec = { ...toySpec, model: { name: 'sized', parameters: 1e13 } };
    const error = await rejected(runExperiment(spec, { registry: reg(), outDir }));
    expect(error.code).toBe('SIZE_LIMIT');
    expect(error.isInputError).toBe(true);
    expect(error.problems[0]!.path).toBe('runs slow, fast');
    expect(error.problems[0]!.message).toMatch(/^each need about 2\d\d TB of memory \(1\.0e\+13/);
    expect(error.hint).toContain('--force-size');
    expect(readdirSync(outDir)).toEqual([]);
    await expect(
      resolveSpec(spec, { registry: reg().child(), forceSize: true }),
    ).resolves.toBeDefined();
  });

  it('refuses a run whose work would take too long, from the steps alone', async () => {
    const spec = { ...toySpec, train: { steps: 1e12, logEvery: 1e9 } };
    const error = await rejected(resolveSpec(spec, { registry: registry().child() }));
    expect(error.code).toBe('SIZE_LIMIT');
    expect(error.problems[0]!.message).toContain('of work (at least 20 µs per step)');
  });

  it('refuses a spec that expands into too many runs', async () => {
    const spec = { ...toySpec, seeds: Array.from({ length: 20_001 }, (_, i) => i) };
    const error = await rejected(resolveSpec(spec, { registry: registry().child() }));
    expect(error.message).toContain('expands into 4.0e+4 runs');
  });
});

describe('specs that say nonsense', () => {
  const problems = async (raw: unknown): Promise<Problem[]> =>
    (await rejected(resolveSpec(raw, { registry: registry().child() }))).problems;

  it('rejects a seed listed twice, at the second', async () => {
    expect(await problems({ ...toySpec, seeds: [0, 1, 0] })).toEqual([
      {
        path: 'seeds[2]',
        message: 'seed 0 is already listed at seeds[0]; each seed gives one run, so list it once',
        value: 0,
      },
    ]);
  });

  it('rejects a sweep value listed twice', async () => {
    const found = await problems({
      ...toySpec,
      optimizers: [{ name: 'toy-gd', lr: 0.1 }],
      sweep: { 'optimizer.lr': [0.1, 0.2, 0.1] },
    });
    expect(found.map((p) => p.path)).toEqual(['sweep["optimizer.lr"][2]']);
  });

  it('rejects a name too long for a folder', async () => {
    const found = await problems({ ...toySpec, name: 'n'.repeat(300) });
    expect(found[0]!.path).toBe('name');
  });

  it('sets no name inside a list and no index past its end', () => {
    const spec = { optimizers: [{ lr: 1 }, { lr: 2 }] };
    expect(thrown(() => setPath(spec, parsePath('optimizers.lr'), 3)).message).toBe(
      'optimizers is a list of 2, so "lr" needs an index before it',
    );
    expect(thrown(() => setPath(spec, parsePath('optimizers[9].lr'), 3)).message).toBe(
      'optimizers has 2 entries ([0] to [1]), so there is no optimizers[9]',
    );
    expect(setPath(spec, parsePath('optimizers[2].lr'), 3)).toEqual({
      optimizers: [{ lr: 1 }, { lr: 2 }, { lr: 3 }],
    });
  });

  it('refuses a YAML alias bomb and deep nesting as parse errors', () => {
    const dir = tmp();
    const levels = 'bcdefgh'
      .split('')
      .map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`);
    writeFileSync(join(dir, 'bomb.yaml'), ['a: &a [x,x,x,x,x,x,x,x,x]', ...levels].join('\n'));
    const bomb = thrown(() => readSpecFile(join(dir, 'bomb.yaml')));
    expect(bomb.code).toBe('SPEC_PARSE');
    expect(bomb.message).toContain('its aliases expand too far');
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { x: deep };
    writeFileSync(join(dir, 'deep.json'), JSON.stringify({ name: 'x', deep }));
    expect(thrown(() => readSpecFile(join(dir, 'deep.json'))).message).toContain(
      'it is nested 65 levels deep (at most 64)',
    );
  });
});

describe('housekeeping', () => {
  it('removes temporary files left by interrupted writes, and folders of runs restarted before a checkpoint', async () => {
    const spec = { ...toySpec, optimizers: [{ name: 'toy-gd', lr: 0.1 }] };
    const outDir = tmp();
    const first = await runExperiment(spec, { registry: registry(), outDir });
    const dir = first.runs[0]!.dir;
    appendFileSync(join(dir, 'checkpoints', 'latest.json.tmp-999999'), '{"half');
    writeFileSync(join(dir, 'result.json.tmp-999999-3'), '');
    // An earlier start killed before its first checkpoint, and one that had results.
    const empty = `${dir}.previous-c`;
    const kept = `${dir}.previous-d`;
    for (const d of [empty, kept]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'metrics.jsonl'), '{"step":0}\n');
    }
    writeFileSync(join(kept, 'result.json'), '{"status":"completed"}');
    writeFileSync(join(dir, 'result.json'), ''); // so the run is resumed
    await runExperiment(spec, { registry: registry(), outDir });
    expect(existsSync(join(dir, 'checkpoints', 'latest.json.tmp-999999'))).toBe(false);
    expect(existsSync(join(dir, 'result.json.tmp-999999-3'))).toBe(false);
    expect(existsSync(empty)).toBe(false);
    expect(existsSync(kept)).toBe(true);
  });
});
