/** The command in-process: output, exit codes and error formatting (the binary is tested in tests/). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TdxError, type ExperimentEvent } from '@tdx/core';
import { applyOverrides, main, progressPrinter, type CliIo } from '../src/index.js';
import { formatEta } from '../src/progress.js';

function capture(isTTY = false): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    isTTY,
    stdout: () => out,
    stderr: () => err,
  };
}

function specFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tdx-cli-')), 'spec.yaml');
  writeFileSync(file, text);
  return file;
}

describe('main', () => {
  it('prints the version of @tdx/cli with --version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const io = capture();
      expect(await main(['node', 'tdx', flag], io)).toBe(0);
      expect(io.stdout()).toBe(`${pkg.version}\n`);
    }
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('lists plugins of one kind', async () => {
    const io = capture();
    expect(await main(['node', 'tdx', 'list', 'dataset'], io)).toBe(0);
    const [header, ...rows] = io.stdout().trimEnd().split('\n');
    expect(header).toBe('dataset');
    expect(rows).toContain(
      '  icl-linear-regression  in-context linear regression (Ahn et al. 2023): n pairs (x, <w, x>) and a query, x, w ~ N(0, I_d)',
    );
    // One row per dataset, descriptions aligned in one column, no other kind listed.
    const names = rows.map((row) => /^ {2}(\S+) +\S/.exec(row)?.[1]);
    expect(names).toEqual(expect.arrayContaining(['quadratic', 'markov-text', 'mnist']));
    const descriptionColumns = new Set(rows.map((row) => /^ {2}\S+ +/.exec(row)?.[0].length));
    expect(descriptionColumns.size).toBe(1);
  });

  it('describes a config with types, bounds and defaults', async () => {
    const io = capture();
    expect(await main(['node', 'tdx', 'describe', 'model', 'linear-transformer'], io)).toBe(0);
    expect(io.stdout()).toContain('layers            integer > 0  (default 3)');
    expect(io.stdout()).toContain('parameterization  "sparse" | "full"  (default "sparse")');
    expect(io.stdout()).toContain('initStd           number > 0  (default 0.05)');
  });

  it('validates a spec, printing it resolved, and rejects a broken one with exit code 2', async () => {
    const good = specFile(
      'name: t\ndataset: icl-linear-regression\nmodel: linear-transformer\noptimizers: [{name: sgd, lr: 0.1}]\ntrain: {steps: 3}\n',
    );
    const io = capture();
    expect(await main(['node', 'tdx', 'validate', good], io)).toBe(0);
    expect(JSON.parse(io.stdout()).train).toEqual({ steps: 3, logEvery: 10 });

    const bad = specFile(
      'name: t\ndataset: icl-linear-regression\nmodel: linear-transformer\noptimizers: [{name: sgd, lr: 0}]\n',
    );
    const io2 = capture();
    expect(await main(['node', 'tdx', 'validate', bad], io2)).toBe(2);
    expect(io2.stderr()).toContain('tdx: error [SPEC_INVALID]: the spec in');
    expect(io2.stderr()).toContain('spec.yaml:4:30 optimizers[0].lr: must be > 0 (got 0)');
    expect(io2.stderr()).toContain('train: required (object)');
  });

  it('reports runtime errors with exit code 1 and internal errors without a stack unless asked', async () => {
    const io = capture();
    const failing = () => {
      throw new TdxError('CHECKPOINT_CORRUPT', 'bad checkpoint', { hint: 'delete it' });
    };
    expect(await main(['node', 'tdx', 'list'], io, failing)).toBe(1);
    expect(io.stderr()).toBe('tdx: error [CHECKPOINT_CORRUPT]: bad checkpoint\ndelete it\n');
    const io2 = capture();
    const crashing = () => {
      throw new Error('boom');
    };
    expect(await main(['node', 'tdx', 'list'], io2, crashing)).toBe(1);
    expect(io2.stderr()).toBe(
      'tdx: internal error: boom\nrun again with --debug for the stack trace\n',
    );
    const io3 = capture();
    expect(await main(['node', 'tdx', '--debug', 'list'], io3, crashing)).toBe(1);
    expect(io3.stderr()).toMatch(/Error: boom\n\s+at /);
  });
});

describe('progressPrinter', () => {
  const events: ExperimentEvent[] = [
    {
      type: 'experiment-start',
      name: 'x',
      dir: '/r/x',
      backend: { name: 'cpu' },
      workers: 1,
      runs: [{ id: 'a-1', label: 'a', dir: '/r/x/a-1' }],
    },
    { type: 'run-start', runId: 'a-1', label: 'a', index: 0, total: 1, steps: 2, dir: '/r/x/a-1' },
    {
      type: 'metrics',
      runId: 'a-1',
      label: 'a',
      record: { step: 0, optimizer: 'a', loss: 5.2712, evalLoss: 5 },
    },
    { type: 'progress', runId: 'a-1', label: 'a', step: 0, steps: 2 },
    {
      type: 'run-end',
      runId: 'a-1',
      label: 'a',
      result: {
        id: 'a-1',
        label: 'a',
        dir: '/r/x/a-1',
        status: 'completed',
        steps: 2,
        wallMs: 1234,
        finalLoss: 1,
      },
    },
  ];

  it('prints plain lines when not on a terminal', () => {
    const io = capture(false);
    const print = progressPrinter(io, { json: false });
    events.forEach(print);
    expect(io.stderr()).toBe(
      'tdx: x: 1 run(s) on cpu\n      results in /r/x\n[1/1] a: 2 steps -> /r/x/a-1\n[1/1] a: completed in 1.2 s: loss 5.271  evalLoss 5.000\n',
    );
  });

  it('redraws a bar per run and an overall line on a terminal, in place', () => {
    const io = capture(true);
    events.forEach(progressPrinter(io, { json: false }));
    const out = io.stderr();
    expect(out).toContain('[1/1] a [........................] 0/2\n[all] 0/1 done, 1 running\n');
    // The live block (2 lines) is erased before the run's final line is printed.
    expect(out).toContain(
      '\x1b[2A\r\x1b[J[1/1] a: completed in 1.2 s: loss 5.271  evalLoss 5.000\n',
    );
  });

  it('keeps concurrent runs on their own lines', () => {
    const io = capture(true);
    const print = progressPrinter(io, { json: false });
    const start = events[0] as Extract<ExperimentEvent, { type: 'experiment-start' }>;
    print({
      ...start,
      runs: [...start.runs, { id: 'b-2', label: 'b', dir: '/r/x/b-2' }],
      workers: 2,
    });
    print({
      type: 'run-start',
      runId: 'a-1',
      label: 'a',
      index: 0,
      total: 2,
      steps: 10,
      dir: '/r/x/a-1',
    });
    print({
      type: 'run-start',
      runId: 'b-2',
      label: 'b',
      index: 1,
      total: 2,
      steps: 10,
      dir: '/r/x/b-2',
    });
    expect(io.stderr()).toContain('2 run(s) on cpu, 2 at once');
    expect(
      io
        .stderr()
        .endsWith(
          '[1/2] a [........................] 0/10\n[2/2] b [........................] 0/10\n[all] 0/2 done, 2 running\n',
        ),
    ).toBe(true);
  });

  it('shows an ETA from the pace since the run started or resumed', () => {
    let clock = 0;
    const io = capture(true);
    const print = progressPrinter(io, { json: false, now: () => clock });
    const start = events[0] as Extract<ExperimentEvent, { type: 'experiment-start' }>;
    print(start);
    print({
      type: 'run-start',
      runId: 'a-1',
      label: 'a',
      index: 0,
      total: 1,
      steps: 100,
      dir: '/d',
    });
    const at = (ms: number, step: number) => {
      clock = ms;
      print({ type: 'progress', runId: 'a-1', label: 'a', step, steps: 100 });
    };
    at(0, 0);
    at(500, 1); // too early to say
    expect(io.stderr()).not.toContain('ETA');
    at(2000, 10); // 10 steps in 2 s: 90 left take 18 s
    expect(io.stderr()).toContain('] 10/100  ETA 18 s\n[all] 0/1 done, 1 running  ETA 18 s\n');
    // Resumed at step 60: the pace counts from there (steps 60 -> 70 in 4 s: 30 left, 12 s).
    print({ type: 'run-resumed', runId: 'a-1', label: 'a', step: 60, dir: '/d' });
    at(10_000, 60);
    at(14_000, 70);
    expect(io.stderr()).toContain('] 70/100  ETA 12 s\n');

    const plain = capture(false);
    const printPlain = progressPrinter(plain, { json: false, now: () => clock });
    clock = 0;
    printPlain(start);
    printPlain({
      type: 'run-start',
      runId: 'a-1',
      label: 'a',
      index: 0,
      total: 1,
      steps: 100,
      dir: '/d',
    });
    printPlain({
      type: 'metrics',
      runId: 'a-1',
      label: 'a',
      record: { step: 30, optimizer: 'a', loss: 2 },
    });
    printPlain({ type: 'progress', runId: 'a-1', label: 'a', step: 0, steps: 100 });
    clock = 6000;
    printPlain({ type: 'progress', runId: 'a-1', label: 'a', step: 30, steps: 100 });
    // 30 steps in 6 s: 70 left take 14 s.
    expect(plain.stderr()).toContain('[1/1] a: step 30  loss 2.000  ETA 14 s\n');
  });

  it('writes remaining times as round as their size', () => {
    expect(formatEta(400)).toBe('0 s');
    expect(formatEta(40_000)).toBe('40 s');
    expect(formatEta(200_000)).toBe('3 min 20 s');
    expect(formatEta(7_500_000)).toBe('2 h 05 min');
  });

  it('prints every event as a JSON line with --json', () => {
    const io = capture();
    events.forEach(progressPrinter(io, { json: true }));
    expect(
      io
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toEqual(events.map((e) => e.type));
  });
});

describe('--set overrides', () => {
  it('set values by path, read as YAML', () => {
    const spec = { train: { steps: 10 }, optimizers: [{ name: 'sgd', lr: 0.1 }] };
    expect(
      applyOverrides(spec, [
        'train.steps=50',
        'optimizers[0].lr=1e-3',
        'sweep.optimizer.momentum=[0, 0.9]',
      ]),
    ).toEqual({
      train: { steps: 50 },
      optimizers: [{ name: 'sgd', lr: 0.001 }],
      sweep: { optimizer: { momentum: [0, 0.9] } },
    });
    expect(spec.train.steps).toBe(10);
  });

  it('reject malformed assignments with exit code 2', async () => {
    const io = capture();
    const file = specFile('name: t\n');
    expect(await main(['node', 'tdx', 'run', file, '--set', 'train.steps'], io)).toBe(2);
    expect(io.stderr()).toContain('--set train.steps: expected path=value');
    const io2 = capture();
    expect(await main(['node', 'tdx', 'run', file, '--set', 'a..b=1'], io2)).toBe(2);
    expect(io2.stderr()).toContain('"a..b" is not a valid path');
    const io3 = capture();
    expect(await main(['node', 'tdx', 'run', file, '--workers', 'two'], io3)).toBe(2);
    expect(io3.stderr()).toContain('--workers takes a whole number of at least 1, got "two"');
  });

  it('are taken by validate too, which prints the spec they give', async () => {
    const file = specFile(
      'name: t\ndataset: icl-linear-regression\nmodel: linear-transformer\noptimizers: [{name: sgd, lr: 0.1}]\ntrain: {steps: 3}\n',
    );
    const io = capture();
    const args = ['validate', file, '--set', 'train.steps=40', '-s', 'optimizers[0].momentum=0.5'];
    expect(await main(['node', 'tdx', ...args], io)).toBe(0);
    const resolved = JSON.parse(io.stdout());
    expect(resolved.train.steps).toBe(40);
    expect(resolved.optimizers[0]).toMatchObject({ name: 'sgd', lr: 0.1, momentum: 0.5 });
    expect(io.stderr()).toContain('is valid: 1 run(s) of 40 steps');
  });

  it('that match no field are located at the --set and get a suggestion', async () => {
    const file = specFile(
      'name: t\ndataset: icl-linear-regression\nmodel: linear-transformer\noptimizers: [{name: sgd, lr: 0.1}]\ntrain: {steps: 3}\n',
    );
    const io = capture();
    const args = [
      '--set',
      'train.stpes=100',
      '--set',
      'trian.steps=5',
      '--set',
      'optimizers[0].name=adma',
    ];
    expect(await main(['node', 'tdx', 'validate', file, ...args], io)).toBe(2);
    const lines = io.stderr().split('\n');
    expect(lines).toContain(
      '  - (--set train.stpes=100) train.stpes: unknown key; did you mean "steps"? allowed keys: steps, logEvery',
    );
    expect(
      lines.find((l) => l.startsWith('  - (--set trian.steps=5) trian: unknown key')),
    ).toContain('did you mean "train"?');
    expect(
      lines.find((l) => l.startsWith('  - (--set optimizers[0].name=adma) optimizers[0].name:')),
    ).toContain('unknown optimizer (got "adma"); did you mean "adam"?');
    // A problem in the file keeps its line: only problems --set caused point at it.
    const io2 = capture();
    const broken = specFile(
      'name: t\ndataset: icl-linear-regression\nmodel: linear-transformer\noptimizers: [{name: sgd, lr: 0}]\ntrain: {steps: 3}\n',
    );
    expect(await main(['node', 'tdx', 'validate', broken, '--set', 'train.steps=4'], io2)).toBe(2);
    expect(io2.stderr()).toContain('spec.yaml:4:30 optimizers[0].lr: must be > 0 (got 0)');
  });
});
