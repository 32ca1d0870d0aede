/** The command's side of issue 16: flags, exit codes and messages for faults, in process. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Registry, type ExperimentEvent } from '@tdx/core';
import { main, progressPrinter, type CliIo } from '../src/index.js';
import { reportError } from '../src/format-error.js';
import { toyPlugins, toySpec } from '../../core/test/fixtures/toy-plugins.js';

function capture(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    isTTY: false,
    stdout: () => out,
    stderr: () => err,
  };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'tdx-cli-faults-'));
const toyRegistry = () => Registry.create().register(...toyPlugins);

describe('help', () => {
  it('documents every new flag', async () => {
    const run = capture();
    expect(await main(['node', 'tdx', 'run', '--help'], run)).toBe(0);
    expect(run.stdout()).toContain('--rerun-diverged');
    expect(run.stdout()).toContain('--force-size');
    const report = capture();
    expect(await main(['node', 'tdx', 'report', '--help'], report)).toBe(0);
    expect(report.stdout()).toContain('--plugins <modules>');
    const validate = capture();
    expect(await main(['node', 'tdx', 'validate', '--help'], validate)).toBe(0);
    expect(validate.stdout()).toContain('--force-size');
  });
});

describe('exit codes', () => {
  it('3 when a run diverged and none failed, and again when it is skipped', async () => {
    const dir = tmp();
    const file = join(dir, 'spec.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...toySpec,
        optimizers: [
          { name: 'toy-gd', lr: 1e154, label: 'wild' },
          { name: 'toy-gd', lr: 0.1, label: 'calm' },
        ],
      }),
    );
    const argv = ['node', 'tdx', 'run', file, '--out', join(dir, 'out'), '--workers', '1'];
    const first = capture();
    expect(await main(argv, first, toyRegistry)).toBe(3);
    expect(first.stderr()).toContain(
      '[1/2] wild: DIVERGED at step 1: loss Infinity (last finite: 1.210 at step 0)',
    );
    const again = capture();
    expect(await main(argv, again, toyRegistry)).toBe(3);
    expect(again.stderr()).toContain('[skip] wild: diverged earlier, at step 1 (loss Infinity) (');
    expect(again.stderr()).toContain('pass --rerun-diverged to run it again');
  });

  it('1 with the reason in words for a file-system error that reached the top, with no stack', () => {
    const io = capture();
    const error = Object.assign(new Error("ENOSPC: no space left on device, write '/r/x.json'"), {
      code: 'ENOSPC',
      path: '/r/x.json',
    });
    expect(reportError(error, io, false)).toBe(1);
    expect(io.stderr()).toBe(
      'tdx: error [IO]: cannot write /r/x.json: no space left on the device (ENOSPC)\n' +
        'free some space (or give --out on another disk) and run the same command again: finished runs are kept and interrupted ones resume\n',
    );
  });
});

describe('progress lines', () => {
  it('say what was waited for, what was kept, and where a run diverged', () => {
    const io = capture();
    const print = progressPrinter(io, { json: false });
    const events: ExperimentEvent[] = [
      {
        type: 'experiment-start',
        name: 'x',
        dir: '/r/x',
        backend: { name: 'cpu' },
        workers: 1,
        runs: [{ id: 'a-1', label: 'a', dir: '/r/x/a-1' }],
      },
      { type: 'run-waiting', runId: 'a-1', label: 'a', dir: '/r/x/a-1', holder: 'process 7' },
      { type: 'warning', runId: 'a-1', label: 'a', message: 'a damaged record' },
      {
        type: 'run-end',
        runId: 'a-1',
        label: 'a',
        result: {
          id: 'a-1',
          label: 'a',
          dir: '/r/x/a-1',
          status: 'diverged',
          steps: 3,
          wallMs: 100,
          divergence: { step: 2, quantity: 'loss', value: 'NaN' },
        },
      },
    ];
    events.forEach(print);
    expect(io.stderr()).toContain(
      '[wait] a: held by process 7; waiting for it, then skipping it if it finished\n' +
        'tdx: warning (a): a damaged record\n' +
        '[?/1] a: DIVERGED at step 2: loss NaN after 0.1 s\n',
    );
  });
});
