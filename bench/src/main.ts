/**
 * `npm run bench [-- --backend wasm,cpu] [-- --pytorch path/to/pytorch_workloads.py]`
 *
 * Prints one JSON line per workload and backend, in the reference script's format. With
 * --pytorch, runs the PyTorch reference in the same session and prints the ratios.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDefaultRegistry } from '@tdx/cli';
import { useBackend, type BackendName } from '@tdx/tensor';
import { gptHvp, gptSlq } from './gpt-workloads.js';
import { iclAdamStep } from './icl-adam-step.js';

import { sweepWorkers } from './sweep-workers.js';

interface Line {
  workload: string;
  impl: string;
  median_ms: number;
  [key: string]: unknown;
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const workloads: Record<
  string,
  (registry: ReturnType<typeof createDefaultRegistry>) => { median_ms: number }
> = {
  'icl-adam-step': iclAdamStep,
  'gpt-hvp': gptHvp,
  'gpt-slq': () => gptSlq(),
};
const backends = (option('--backend') ?? 'wasm,cpu').split(',') as BackendName[];
const selected = (option('--workload') ?? Object.keys(workloads).join(',')).split(',');
const perBackend = selected.filter((w) => w !== 'sweep-8');
const lines: Line[] = [];

for (const backend of backends) {
  const info = await useBackend(backend);
  for (const name of perBackend) {
    const run = workloads[name];

    if (!run)
      throw new Error(`unknown workload ${name}; choices: ${Object.keys(workloads).join(', ')}`);
    const line: Line = {
      ...run(createDefaultRegistry()),
      workload: name,
      impl: `tdx-${info.name}`,
      tfjs: info.details?.tfjs,
    };
    lines.push(line);
    console.log(JSON.stringify(line));
  }
}

// Our own workload (no PyTorch counterpart): how a sweep scales over worker processes.
if (selected.includes('sweep-8') || option('--workload') === undefined) {
  for (const line of sweepWorkers()) console.log(JSON.stringify(line));
}

// `npm run bench` runs this in bench/ through Nx, so a relative path is read from the
// repository's root, where the README's command is typed.
const referenceOption = option('--pytorch');
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const reference = referenceOption && resolve(repositoryRoot, referenceOption);
if (reference) {
  const python = option('--python') ?? '/usr/bin/python3';
  const output = execFileSync(python, [reference, ...perBackend], { encoding: 'utf8' });
  for (const text of output.trim().split('\n')) {
    const ref = JSON.parse(text) as Line;
    console.log(JSON.stringify(ref));
    for (const ours of lines.filter((l) => l.workload === ref.workload)) {
      const ratio = ours.median_ms / ref.median_ms;
      console.log(
        JSON.stringify({
          workload: ref.workload,
          ratio: `${ours.impl} / ${ref.impl}`,
          value: Number(ratio.toFixed(3)),
        }),
      );
    }
  }
}
