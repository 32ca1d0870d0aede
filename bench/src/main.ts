/**
 * `npm run bench [-- options]`: tdx's benchmark workloads, one JSON line each, with the PyTorch
 * reference side by side in the same session when asked (see `--help`). Never a timed test.
 *
 * Each backend runs in its own child process (a backend and its thread pool are per process),
 * the PyTorch reference in another, one after the other, so no two measurements overlap.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDefaultRegistry } from '@tdx/cli';
import { nativeBackendStatus, useBackend, type BackendName } from '@tdx/tensor';
import { GPT_3M, GPT_SMALL, gptHvp, gptSlq } from './gpt-workloads.js';
import { iclAdamStep } from './icl-adam-step.js';
import { queueSweep } from './queue-sweep.js';
import { sweepWorkers } from './sweep-workers.js';

interface Line {
  workload: string;
  impl: string;
  median_ms: number;
  [key: string]: unknown;
}

const HELP = `npm run bench [-- options]

Times tdx's workloads and prints one JSON line per workload and backend; with --pytorch, also
the PyTorch reference of the same workloads and the ratios tdx / PyTorch, measured one after
the other in this session.

Workloads (bench/reference/pytorch_workloads.py defines the same ones):
  icl-adam-step   linear Transformer of Ahn et al. (d 5, n 20, 3 layers, 1000 prompts): one Adam step
  gpt-hvp         2-layer softmax GPT (width 64, 4 heads, 32 tokens, batch 16, 110,400 parameters): one HVP
  gpt-slq         the same GPT: SLQ, 4 probes x 32 Lanczos steps, full reorthogonalisation
  gpt-hvp-3m      GPT of width 256, 4 layers, 64 tokens, batch 16 (3,208,768 parameters): one HVP
  sweep-8         tdx run of an 8-run sweep on one worker and on one per core (no PyTorch counterpart)
  sweep-8-queue   the same sweep on a Redis queue with two local \`tdx worker\`s against --workers 2,
                  and the queue's overhead per run (8 runs of one step); needs redis-server

Options:
  --backend a,b       backends to time (default: wasm, and tensorflow where \`tdx setup tensorflow\` built it)
  --threads n         TensorFlow's intra-op threads for the tensorflow backend (default: every core)
  --workload a,b      workloads to run (default: all of the above)
  --pytorch           also run the PyTorch reference (bench/reference/pytorch_workloads.py) and print ratios;
                      it first checks that PyTorch runs on an optimised BLAS and refuses otherwise
  --reference <file>  another reference script (implies --pytorch)
  --python <path>     the Python with PyTorch (default /usr/bin/python3, Debian's python3-torch)
  --help              this text

Kernels: each tdx line has \`kernels\`, the TF.js kernels one call launches (tf.profile).
`;

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const flag = (name: string) => args.includes(name);

const WORKLOADS: Record<
  string,
  (registry: ReturnType<typeof createDefaultRegistry>) => Promise<{ median_ms: number }>
> = {
  'icl-adam-step': iclAdamStep,
  'gpt-hvp': () => gptHvp(GPT_SMALL, 20),
  'gpt-slq': () => gptSlq(),
  'gpt-hvp-3m': () => gptHvp(GPT_3M, 5),
};
const ALL = [...Object.keys(WORKLOADS), 'sweep-8', 'sweep-8-queue'];
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

/** In a child: one backend, the per-backend workloads, JSON lines on stdout. */
async function child(backend: BackendName, workloads: string[]): Promise<void> {
  const info = await useBackend(backend);
  for (const name of workloads) {
    const result = await WORKLOADS[name]!(createDefaultRegistry());
    const line: Line = {
      ...result,
      workload: name,
      impl: `tdx-${info.name}`,
      threads: info.details?.threads,
      tfjs: info.details?.tfjs,
    };
    console.log(JSON.stringify(line));
  }
}

function runChild(backend: string, workloads: string[], threads?: string): Line[] {
  const result = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--child', backend, '--workload', workloads.join(',')],
    {
      encoding: 'utf8',
      env: { ...process.env, ...(threads ? { TDX_BACKEND_THREADS: threads } : {}) },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  if (result.status !== 0) throw new Error(`the ${backend} benchmarks failed:\n${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

function pytorch(reference: string, python: string, workloads: string[]): Line[] {
  const run = (names: string[]) =>
    execFileSync(python, [reference, ...names], { encoding: 'utf8', maxBuffer: 16 << 20 })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
  const [blas] = run(['blas-check']);
  console.log(JSON.stringify(blas));
  if (!blas || blas.optimised_blas !== true) {
    console.error(
      `bench: the PyTorch reference runs on an unoptimised BLAS (${String(blas?.gflops)} GFLOP/s on a 1024³ matmul), ` +
        'which makes it about 10x slower and every ratio meaningless. Install OpenBLAS ' +
        '(apt-get install -y libopenblas0-pthread) and run again; no ratio is printed.',
    );
    process.exit(2);
  }
  return run(workloads);
}

async function main(): Promise<void> {
  if (flag('--help') || flag('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const selected = (option('--workload') ?? ALL.join(',')).split(',');
  const unknown = selected.filter((w) => !ALL.includes(w));
  if (unknown.length > 0) {
    console.error(`bench: unknown workload ${unknown.join(', ')}; choices: ${ALL.join(', ')}`);
    process.exit(2);
  }
  const perBackend = selected.filter((w) => w !== 'sweep-8' && w !== 'sweep-8-queue');
  const childBackend = option('--child');
  if (childBackend) return child(childBackend as BackendName, perBackend);

  const backends = (
    option('--backend') ?? (nativeBackendStatus('auto').ready ? 'wasm,tensorflow' : 'wasm')
  ).split(',');
  const lines: Line[] = [];
  for (const backend of backends) {
    if (perBackend.length === 0) break;
    for (const line of runChild(backend, perBackend, option('--threads'))) {
      lines.push(line);
      console.log(JSON.stringify(line));
    }
  }
  // Our own workload (no PyTorch counterpart): how a sweep scales over worker processes.
  if (selected.includes('sweep-8'))
    for (const line of sweepWorkers()) console.log(JSON.stringify(line));
  // The same sweep on a queue (Redis, BullMQ) with two local workers, and the cost per run.
  if (selected.includes('sweep-8-queue'))
    for (const line of await queueSweep()) console.log(JSON.stringify(line));

  const referenceOption =
    option('--reference') ??
    (flag('--pytorch') ? 'bench/reference/pytorch_workloads.py' : undefined);
  if (!referenceOption || perBackend.length === 0) return;
  // `npm run bench` runs in bench/ through Nx: paths are read from the repository's root.
  const reference = resolve(repositoryRoot, referenceOption);
  const refs = pytorch(reference, option('--python') ?? '/usr/bin/python3', perBackend);
  const table: string[] = [
    '| workload | ' + [...backends.map((b) => `tdx-${b}`), 'PyTorch'].join(' | ') + ' |',
  ];
  table.push(`| --- | ${[...backends, 'p'].map(() => '---').join(' | ')} |`);
  for (const ref of refs) {
    console.log(JSON.stringify(ref));
    const cells: string[] = [];
    for (const ours of lines.filter((l) => l.workload === ref.workload)) {
      const ratio = ours.median_ms / ref.median_ms;
      console.log(
        JSON.stringify({
          workload: ref.workload,
          ratio: `${ours.impl} / ${ref.impl}`,
          value: Number(ratio.toFixed(3)),
        }),
      );
      cells.push(`${ours.median_ms.toFixed(1)} ms (${ratio.toFixed(2)})`);
    }
    table.push(`| ${ref.workload} | ${cells.join(' | ')} | ${ref.median_ms.toFixed(1)} ms |`);
  }
  console.log(`\n${table.join('\n')}`);
}

await main();
