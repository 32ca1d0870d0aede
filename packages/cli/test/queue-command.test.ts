/** The command's side of the queue: help texts, flags that need --queue or refuse it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Registry } from '@tdx/core';
import { main, type CliIo } from '../src/index.js';
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

const toyRegistry = () => Registry.create().register(...toyPlugins);
const specFile = () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tdx-cli-queue-')), 'spec.json');
  writeFileSync(file, JSON.stringify(toySpec));
  return file;
};

describe('tdx worker and tdx run --queue', () => {
  it('explain themselves: how to start, what happens on faults', async () => {
    const worker = capture();
    expect(await main(['node', 'tdx', 'worker', '--help'], worker)).toBe(0);
    for (const text of [
      '<redis-url>',
      '--concurrency <n>',
      '--backend <name>',
      '--analysis-workers <n>',
      '--plugin-dir <dir>',
      '--stall-seconds <s>',
      'no shared folder is needed',
      'resume from their last',
      'go back to the',
    ])
      expect(worker.stdout()).toContain(text);
    const run = capture();
    expect(await main(['node', 'tdx', 'run', '--help'], run)).toBe(0);
    for (const text of [
      '--queue <redis-url>',
      '--detach',
      'reattaches and collects',
      'never printed',
    ])
      expect(run.stdout()).toContain(text);
  });

  it('refuse flags that do not fit, before any work (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--detach'], /--detach needs --queue/],
      [['--queue-name', 'x'], /--queue-name needs --queue/],
      [['--queue', 'redis://h:1', '--workers', '2'], /--workers applies to runs on this machine/],
      [
        ['--queue', 'redis://h:1', '--analysis-workers', '2'],
        /--analysis-workers applies to runs on this machine/,
      ],
      [
        ['--queue', 'http://u:pw@h:1'],
        /--queue http:\/\/u:\*\*\*@h:1: the scheme must be redis:\/\/ or rediss:\/\//,
      ],
    ];
    for (const [flags, message] of cases) {
      const io = capture();
      expect(await main(['node', 'tdx', 'run', specFile(), ...flags], io, toyRegistry)).toBe(2);
      expect(io.stderr()).toMatch(message);
      expect(io.stderr()).not.toContain(':pw@');
    }
    const worker = capture();
    expect(
      await main(
        ['node', 'tdx', 'worker', 'redis://h:1', '--backend', 'nope'],
        worker,
        toyRegistry,
      ),
    ).toBe(2);
    expect(worker.stderr()).toMatch(/--backend: unknown backend "nope"\nbackends: toy-backend/);
  });
});
