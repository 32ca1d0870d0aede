/** The backend commands in-process: doctor, an unavailable backend in validate, the toolchain check. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TdxError } from '@tdx/core';
import { main, type CliIo } from '../src/index.js';
import { checkToolchain, nodeHeadersDir } from '../src/setup/tools.js';

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

describe('backend commands', () => {
  it('doctor lists every backend, whether it runs here, and what auto picks', async () => {
    const io = capture();
    expect(await main(['node', 'tdx', 'doctor', '--quick', '--json'], io)).toBe(0);
    const report = JSON.parse(io.stdout()) as {
      backends: Array<{ name: string; available: boolean; reason?: string }>;
      auto: string;
    };
    expect(report.backends.map((b) => b.name)).toEqual(['wasm', 'cpu', 'tensorflow']);
    expect(report.backends.find((b) => b.name === 'wasm')?.available).toBe(true);
    const native = report.backends.find((b) => b.name === 'tensorflow')!;
    expect(report.auto).toBe(native.available ? 'tensorflow' : 'wasm');
    if (!native.available) expect(native.reason).toContain('npx tdx setup tensorflow');
  });

  it('validate refuses a backend that cannot run here, with exit code 2', async () => {
    // No machine here has the GPU package.
    const file = join(mkdtempSync(join(tmpdir(), 'tdx-cli-')), 'spec.yaml');
    writeFileSync(
      file,
      'name: t\nbackend: { name: tensorflow, device: gpu }\ndataset: icl-linear-regression\nmodel: linear-transformer\noptimizer: { name: adam, lr: 0.01 }\ntrain: { steps: 10 }\n',
    );
    const io = capture();
    expect(await main(['node', 'tdx', 'validate', file], io)).toBe(2);
    expect(io.stderr()).toContain('[BACKEND_UNAVAILABLE]');
    expect(io.stderr()).toContain('@tensorflow/tfjs-node-gpu');
    expect(io.stderr()).toContain('npx tdx setup tensorflow');
  });

  it('setup names the programs it lacks and how to install them', () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'tdx-empty-path-'));
    try {
      const error = (() => {
        try {
          checkToolchain();
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(TdxError);
      const message = (error as TdxError).message;
      expect(message).toContain('python3 (apt-get install -y python3)');
      expect(message).toContain('a C++ compiler (apt-get install -y g++)');
      expect(message).toContain('make (apt-get install -y make)');
    } finally {
      process.env.PATH = path;
    }
    expect(nodeHeadersDir('/nonexistent/bin/node')).toBeUndefined();
  });
});
