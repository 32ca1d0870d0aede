/**
 * The fault suite of issue 16, through the `tdx` command in real processes: each case is a way
 * a hostile or unlucky user lost or corrupted a result, or ran code they did not mean to.
 *
 *  1. a damaged line of metrics.jsonl      5. divergence
 *  2. `tdx report` running no code          6. sizes that cannot fit, parse bombs
 *  3. full disks and unwritable folders     7. specs and flags that say nonsense
 *  4. plugin modules that hang or throw     8. SIGTERM, stale temporary files and folders
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliBin, quickstartVariant, readJsonl, root, tdx, tempDir } from './support.js';

/** One adam run of 200 steps on small batches: about a second. */
const small = (change?: (s: Record<string, unknown>) => void) =>
  quickstartVariant((s) => {
    s.name = 'faults';
    s.optimizers = [{ name: 'adam', lr: 0.02, clipNorm: 1 }];
    s.train = { steps: 200, logEvery: 10 };
    s.analyses = [];
    Object.assign(s.dataset as object, { batchSize: 50, evalBatchSize: 50 });
    change?.(s);
  });

const runDir = (out: string, label: string, name = 'faults'): string => {
  const dir = join(out, name);
  return join(
    dir,
    readdirSync(dir).find((d) => d.startsWith(`${label}-`) && !d.includes('.'))!,
  );
};

/** What a user must never see without --debug: a stack trace or an "internal error". */
const expectNoStack = (stderr: string) => {
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toContain('internal error');
};

const temporaryFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tmp-\d/.test(f));

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Column `name` of summary.csv, by run label (values here hold no commas). */
function summaryColumn(experimentDir: string, name: string): Record<string, string> {
  const [header, ...rows] = readFileSync(join(experimentDir, 'summary.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const at = header!.indexOf(name);
  return Object.fromEntries(rows.map((r) => [r[1]!, r[at]!]));
}

describe('1. a damaged line of metrics.jsonl', () => {
  it('is reported by its line, kept, and never costs the lines after it; the report reads past it', () => {
    const out = tempDir();
    const spec = small();
    expect(tdx(['run', spec, '--out', out]).code).toBe(0);
    const dir = runDir(out, 'adam');
    const metricsPath = join(dir, 'metrics.jsonl');
    const lines = readFileSync(metricsPath, 'utf8').split('\n');
    expect(lines).toHaveLength(22); // 21 records (steps 0, 10, ..., 200) and the final newline
    const losses = lines.slice(0, 21).map((l) => JSON.parse(l).loss as number);
    const best = losses.indexOf(Math.min(...losses));
    // Cut a line before the best loss in half (line 11, as found, when the best comes later):
    // a reader that stopped there would report a worse best loss.
    const cut = Math.min(10, best - 1);
    expect(cut).toBeGreaterThan(0);
    lines[cut] = lines[cut]!.slice(0, Math.floor(lines[cut]!.length / 2));
    const damaged = lines.join('\n');
    writeFileSync(metricsPath, damaged);
    rmSync(join(dir, 'result.json'));

    const again = tdx(['run', spec, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`${metricsPath}:${cut + 1}: a damaged record`);
    expect(readFileSync(metricsPath, 'utf8')).toBe(damaged);

    const report = tdx(['report', join(out, 'faults')]);
    expect(report.code).toBe(0);
    expect(report.stderr).toContain('1 record(s) could not be read and are left out');
    expect(report.stderr).toContain(`${metricsPath}:${cut + 1}: damaged record`);
    const readable = losses.filter((_, i) => i !== cut);
    expect(Number(summaryColumn(join(out, 'faults'), 'best_loss').adam)).toBe(
      Math.min(...readable),
    );
  });
});

describe('2. tdx report', () => {
  it('imports none of the plugin modules the results folder names, only those given with --plugins', () => {
    const out = tempDir();
    const marker = join(tempDir(), 'marker.txt');
    const plugin = join(root, 'tests/fixtures/marker-plugin.mjs');
    const env = { TDX_TEST_MARKER: marker };
    const spec = small((s) => {
      s.plugins = [plugin];
      s.analyses = [{ name: 'marker', every: 100 }];
    });
    expect(tdx(['run', spec, '--out', out], root, env).code).toBe(0);
    expect(existsSync(marker)).toBe(true); // the run itself loads it, as its spec asks
    rmSync(marker);

    const report = tdx(['report', join(out, 'faults')], root, env);
    expect(report.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(report.stderr).toContain(`the spec's plugin modules were not loaded`);
    expect(report.stderr).toContain(`--plugins ${plugin}`);
    expect(existsSync(join(out, 'faults', 'report.html'))).toBe(true);

    const trusted = tdx(['report', join(out, 'faults'), '--plugins', plugin], root, env);
    expect(trusted.code).toBe(0);
    expect(readFileSync(marker, 'utf8')).toMatch(/^imported by process \d+\n$/);
  });
});

describe('3. a failed write', () => {
  const twoRuns = () =>
    small((s) => {
      s.optimizers = [
        { name: 'sgd', lr: 0.02 },
        { name: 'adam', lr: 0.02 },
      ];
    });

  for (const workers of ['1', '2'])
    it(`fails that run alone, with its error.json, and the others go on (--workers ${workers})`, () => {
      const out = tempDir();
      // Every write to adam's metrics fails as on a full disk (a test seam: see run-directory.ts).
      const env = { TDX_FAULT_WRITE: 'ENOSPC:adam-[0-9a-f]+/metrics' };
      const result = tdx(['run', twoRuns(), '--out', out, '--workers', workers], root, env);
      expect(result.code).toBe(1);
      expectNoStack(result.stderr);
      expect(result.stderr).toMatch(
        /adam: FAILED after 0 steps: cannot (write|open) .*metrics\.jsonl: no space left on the device \(ENOSPC\)/,
      );
      expect(result.stderr).toContain('tdx: done: 2 run(s), 1 failed');
      const error = JSON.parse(readFileSync(join(runDir(out, 'adam'), 'error.json'), 'utf8'));
      expect(error.code).toBe('IO');
      expect(JSON.parse(readFileSync(join(runDir(out, 'sgd'), 'result.json'), 'utf8')).status).toBe(
        'completed',
      );
      expect(existsSync(join(out, 'faults', 'summary.csv'))).toBe(true);
      expect(temporaryFiles(out)).toEqual([]);
    });

  const canMount =
    process.platform === 'linux' &&
    spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=8k tmpfs /mnt'], {
      stdio: 'ignore',
    }).status === 0;

  it.skipIf(!canMount)(
    'on a real 40 KB file system: clean failures, no stack, no temporary files',
    () => {
      const mountPoint = tempDir();
      // In a user and mount namespace (no root needed where the kernel allows it): a 40 KB tmpfs.
      const script = [
        `mount -t tmpfs -o size=40k tmpfs ${mountPoint}`,
        `"${process.execPath}" "${cliBin}" run "${twoRuns()}" --out ${mountPoint} --workers 2`,
        'echo "exit=$?" >&2',
        `find ${mountPoint} -name '*.tmp-*' | sed 's/^/tmp-file: /' >&2`,
      ].join('; ');
      const run = spawnSync('unshare', ['-rm', 'sh', '-c', script], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, TDX_DEBUG: '' },
      });
      const stderr = run.stderr;
      expect(stderr).toContain('exit=1');
      expectNoStack(stderr);
      expect(stderr).toContain('no space left on the device (ENOSPC)');
      expect(stderr).toMatch(/sgd: FAILED/);
      expect(stderr).toMatch(/adam: FAILED/);
      expect(stderr).not.toContain('tmp-file:');
    },
  );

  it('of a results folder under a file, or one that cannot be written, is bad input', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a-file'), '');
    const underFile = tdx(['run', small(), '--out', join(dir, 'a-file', 'results')]);
    expect(underFile.code).toBe(2);
    expect(underFile.stderr).toContain('tdx: error [INVALID_ARGUMENT]: cannot write results into');
    expect(underFile.stderr).toContain('a part of the path is a file, not a folder (ENOTDIR)');
    expectNoStack(underFile.stderr);
    // /sys refuses new folders even to root (a chmod would not stop root).
    if (existsSync('/sys/kernel')) {
      const unwritable = tdx(['run', small(), '--out', '/sys/kernel/tdx-results']);
      expect(unwritable.code).toBe(2);
      expect(unwritable.stderr).toMatch(/cannot write results into \/sys\/kernel\/tdx-results/);
      expectNoStack(unwritable.stderr);
    }
  });
});

describe('4. plugin modules', () => {
  const specWithPlugin = (file: string, content: string) =>
    small((s) => {
      const dir = tempDir();
      writeFileSync(join(dir, file), content);
      s.plugins = [join(dir, file)];
    });

  it('whose import never settles fail after the time limit, as bad input, for validate and run', () => {
    const spec = specWithPlugin('hangs.mjs', 'await new Promise(() => {});\nexport const x = 1;\n');
    const env = { TDX_PLUGIN_TIMEOUT: '1' };
    for (const command of ['validate', 'run']) {
      const out = tempDir();
      const started = Date.now();
      const args = command === 'run' ? ['run', spec, '--out', out] : ['validate', spec];
      const result = tdx(args, root, env);
      expect(result.code).toBe(2);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(result.stderr).toContain('hangs.mjs" did not finish loading within 1 s');
      expectNoStack(result.stderr);
      expect(readdirSync(out)).toEqual([]);
    }
  });

  it('whose register() throws are bad input with its message', () => {
    const spec = specWithPlugin(
      'throws.mjs',
      "export function register() { throw new Error('cannot register today'); }\n",
    );
    const result = tdx(['run', spec, '--out', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'throws.mjs": its register(registry) failed: cannot register today',
    );
    expectNoStack(result.stderr);
  });
});

describe('5. divergence', () => {
  it('is recorded (step and value), exits 3, and is run again only when asked', () => {
    const out = tempDir();
    const spec = small((s) => (s.optimizers = [{ name: 'adam', lr: 1e6 }]));
    const first = tdx(['run', spec, '--out', out]);
    expect(first.code).toBe(3);
    const dir = runDir(out, 'adam');
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    expect(result.status).toBe('diverged');
    const { step, value } = result.divergence as { step: number; value: string };
    expect(['NaN', 'Infinity', '-Infinity']).toContain(value);
    expect(first.stderr).toContain(`adam: DIVERGED at step ${step}: loss ${value}`);
    const last = readJsonl(join(dir, 'metrics.jsonl')).at(-1)!;
    expect(last).toMatchObject({ step, loss: null, nonFinite: `loss=${value}` });

    const again = tdx(['run', spec, '--out', out]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain(
      `[skip] adam: diverged earlier, at step ${step} (loss ${value})`,
    );
    expect(again.stderr).toContain('pass --rerun-diverged to run it again');

    const rerun = tdx(['run', spec, '--out', out, '--rerun-diverged']);
    expect(rerun.code).toBe(3);
    expect(rerun.stderr).toContain(`adam: DIVERGED at step ${step}`);
    const previous = readdirSync(join(out, 'faults')).filter((d) => d.includes('.previous-'));
    expect(previous).toHaveLength(1);
    expect(existsSync(join(out, 'faults', previous[0]!, 'result.json'))).toBe(true);
  });
});

describe('6. sizes that cannot fit', () => {
  const variant = (path: string[], value: unknown) =>
    quickstartVariant((s) => {
      let at = s as Record<string, unknown>;
      for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
      at[path.at(-1)!] = value;
    });
  const cases: Array<[string, string, unknown, string, string]> = [
    ['model.layers', '1000000', 1_000_000, 'SIZE_LIMIT', 'of memory'],
    ['dataset.batchSize', '1e9', 1e9, 'SIZE_LIMIT', 'of memory'],
    ['dataset.d', '100000', 100_000, 'SIZE_LIMIT', 'of memory'],
    ['train.steps', '1e12', 1e12, 'SIZE_LIMIT', 'of work'],
    ['name', '300 characters', 'n'.repeat(300), 'SPEC_INVALID', 'at most 100 characters'],
  ];
  it.each(cases)(
    '%s: %s is refused by validate and run, before any work',
    (path, _, value, code, what) => {
      const spec = variant(path.split('.'), value);
      for (const command of ['validate', 'run']) {
        const out = tempDir();
        const started = Date.now();
        const result = tdx(command === 'run' ? ['run', spec, '--out', out] : ['validate', spec]);
        expect(result.code).toBe(2);
        expect(Date.now() - started).toBeLessThan(30_000);
        expect(result.stderr).toContain(`tdx: error [${code}]`);
        expect(result.stderr).toContain(what);
        expectNoStack(result.stderr);
        expect(readdirSync(out)).toEqual([]);
      }
    },
  );

  it('--force-size accepts what the estimate refuses', () => {
    const spec = variant(['model', 'layers'], 100_000);
    expect(tdx(['validate', spec]).code).toBe(2);
    expect(tdx(['validate', spec, '--force-size']).code).toBe(0);
  });

  it('a YAML alias bomb is a parse error, not an internal error', () => {
    const file = join(tempDir(), 'bomb.yaml');
    const levels = 'bcdefghi'
      .split('')
      .map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`);
    writeFileSync(file, ['a: &a [x,x,x,x,x,x,x,x,x]', ...levels].join('\n'));
    const result = tdx(['validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('tdx: error [SPEC_PARSE]');
    expect(result.stderr).toContain('its aliases expand too far');
    expectNoStack(result.stderr);
  });
});

describe('7. specs and flags that say nonsense', () => {
  const quickstart = join(root, 'recipes/quickstart.yaml');

  it('a seed listed twice is refused', () => {
    const result = tdx(['validate', small((s) => (s.seeds = [0, 0]))]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('seeds[1]: seed 0 is already listed at seeds[0]');
  });

  it('--set of a name inside a list says which index to give', () => {
    const result = tdx(['run', quickstart, '--set', 'optimizers.lr=1', '--out', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '--set optimizers.lr=1: optimizers is a list of 2, so "lr" needs an index before it',
    );
    expect(result.stderr).toContain('write optimizers[0].lr (or [1] ... [1])');
  });

  it('--set past the end of a list names the --set, not nine missing entries', () => {
    const result = tdx(['run', quickstart, '--set', 'optimizers[9].lr=0.1', '--out', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '--set optimizers[9].lr=0.1: optimizers has 2 entries ([0] to [1]), so there is no optimizers[9]',
    );
    expect(result.stderr).not.toContain('required');
  });

  it('problems of values from --set and --backend are located at the flag, not a line of the file', () => {
    const appended = tdx(['run', quickstart, '--set', 'optimizers[2].lr=0.1', '--out', tempDir()]);
    expect(appended.code).toBe(2);
    expect(appended.stderr).toContain('(--set optimizers[2].lr=0.1) optimizers[2].name: required');
    const backend = tdx(['run', quickstart, '--backend', 'nosuch', '--out', tempDir()]);
    expect(backend.code).toBe(2);
    expect(backend.stderr).toContain('(--backend nosuch) backend.name: unknown backend');
    for (const r of [appended, backend]) expect(r.stderr).not.toMatch(/quickstart\.yaml:\d+/);
  });
});

describe('8. housekeeping', () => {
  const longer = () =>
    small((s) => {
      s.train = { steps: 300, logEvery: 5 };
      Object.assign(s.dataset as object, { batchSize: 200, evalBatchSize: 200 });
    });

  /** Starts `tdx run` in a process group of its own; returns it and its stderr so far. */
  function start(spec: string, out: string, extra: string[] = []) {
    const child = spawn(process.execPath, [cliBin, 'run', spec, '--out', out, ...extra], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, TDX_DEBUG: '' },
    });
    const output = { stderr: '' };
    child.stderr!.on('data', (d: Buffer) => (output.stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, output, exited };
  }

  async function whenMetrics(out: string, atLeast: number): Promise<string> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      await wait(50);
      const dir = existsSync(join(out, 'faults')) ? runDirOrUndefined(out) : undefined;
      const path = dir && join(dir, 'metrics.jsonl');
      if (path && existsSync(path) && readJsonl(path).length >= atLeast) return dir;
      if (Date.now() > deadline) throw new Error('the run did not start');
    }
  }
  const runDirOrUndefined = (out: string) => {
    const name = readdirSync(join(out, 'faults')).find((d) => /^adam-[0-9a-f]+$/.test(d));
    return name && join(out, 'faults', name);
  };

  it('SIGTERM stops as cleanly as Ctrl-C: a checkpoint, exit 143, and the same results after resuming', async () => {
    const spec = longer();
    const reference = tempDir();
    expect(tdx(['run', spec, '--out', reference]).code).toBe(0);

    const out = tempDir();
    const run = start(spec, out);
    const dir = await whenMetrics(out, 8);
    // As a scheduler does: to the whole process group.
    process.kill(-run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(143);
    expect(run.output.stderr).toContain('tdx: stopping (SIGTERM): every run saves a checkpoint');
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    expect(result.status).toBe('interrupted');
    const checkpoint = JSON.parse(readFileSync(join(dir, 'checkpoints', 'latest.json'), 'utf8'));
    expect(checkpoint.step).toBe(result.steps);

    // A checkpoint write killed half-way leaves its temporary file: it is removed on resuming.
    const stale = join(dir, 'checkpoints', 'latest.json.tmp-999999');
    writeFileSync(stale, '{"format":"tdx-chec');
    const again = tdx(['run', spec, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`removed ${stale}, left by a write that was interrupted`);
    expect(existsSync(stale)).toBe(false);
    expect(again.stderr).toContain(`resuming from its checkpoint at step ${result.steps}`);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(
      readFileSync(join(runDir(reference, 'adam'), 'metrics.jsonl'), 'utf8'),
    );
  });

  it('runs killed before their first checkpoint leave no folders behind, and half-written files are removed', async () => {
    const spec = longer();
    const reference = tempDir();
    expect(tdx(['run', spec, '--out', reference]).code).toBe(0);

    const out = tempDir();
    for (let i = 0; i < 3; i++) {
      const run = start(spec, out);
      const dir = await whenMetrics(out, 2);
      expect(existsSync(join(dir, 'checkpoints', 'latest.json'))).toBe(false);
      process.kill(-run.child.pid!, 'SIGKILL');
      await run.exited;
    }
    const dir = runDirOrUndefined(out)!;
    // What a write killed between creating its temporary file and renaming it leaves.
    writeFileSync(join(dir, 'run.json.tmp-999999-1'), '{"half": ');
    const again = tdx(['run', spec, '--out', out]);
    expect(again.code).toBe(0);
    expect(readdirSync(join(out, 'faults')).filter((d) => d.includes('.previous-'))).toEqual([]);
    expect(temporaryFiles(out)).toEqual([]);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(
      readFileSync(join(runDir(reference, 'adam'), 'metrics.jsonl'), 'utf8'),
    );
    expect(statSync(dir).isDirectory()).toBe(true);
  });
});
