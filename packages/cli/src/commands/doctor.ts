/**
 * `tdx doctor`: every backend, whether it can run here (and why not), its versions and threads,
 * and the rate of a 1024×1024 float32 product measured for about a second.
 */
import { type Registry } from '@tdx/core';
import { nativeBackendStatus, tf, useBackend, type BackendName } from '@tdx/tensor';
import { EXIT, type CliIo } from '../io.js';

export interface BackendReport {
  name: string;
  available: boolean;
  reason?: string;
  details?: Record<string, unknown>;
  /** GFLOP/s of a 1024³ float32 matmul, median of the repetitions that fit in ~1 s. */
  gflops?: number;
}

/** The median rate of n×n×n products repeated for about `seconds`. */
export function matmulRate(n = 1024, seconds = 1): number {
  const [a, b] = [tf.randomNormal([n, n]), tf.randomNormal([n, n])];
  const once = () => {
    const t = performance.now();
    const c = tf.matMul(a, b);
    // Read outside any tidy: tidy walks a returned typed array element by element.
    c.dataSync();
    c.dispose();
    return performance.now() - t;
  };
  once();
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (times.length < 3 || (performance.now() < end && times.length < 50)) times.push(once());
  tf.dispose([a, b]);
  times.sort((x, y) => x - y);
  return (2 * n ** 3) / (times[Math.floor(times.length / 2)]! * 1e6);
}

export async function probeBackends(names: string[], measure: boolean): Promise<BackendReport[]> {
  const reports: BackendReport[] = [];
  for (const name of names) {
    if (name === 'tensorflow') {
      const status = nativeBackendStatus('auto');
      if (!status.ready) {
        reports.push({ name, available: false, reason: status.reason ?? 'not installed' });
        continue;
      }
    }
    try {
      const info = await useBackend(name as BackendName);
      reports.push({
        name,
        available: true,
        details: { ...info.details, ...(info.name !== name ? { runs: info.name } : {}) },
        ...(measure ? { gflops: matmulRate() } : {}),
      });
    } catch (error) {
      reports.push({ name, available: false, reason: (error as Error).message });
    }
  }
  return reports;
}

export async function doctorCommand(
  registry: Registry,
  options: { json?: boolean; quick?: boolean },
  io: CliIo,
): Promise<number> {
  const names = registry
    .list('backend')
    .map((p) => p.name)
    .filter((n) => n !== 'auto');
  const reports = await probeBackends(names, !options.quick);
  const auto = nativeBackendStatus('auto').ready ? 'tensorflow' : 'wasm';
  if (options.json) {
    io.out(`${JSON.stringify({ backends: reports, auto })}\n`);
    return EXIT.ok;
  }
  io.out(`backends (auto, the default, picks ${auto} here)\n`);
  for (const r of reports) {
    const rate = r.gflops === undefined ? '' : `  ${r.gflops.toFixed(1)} GFLOP/s (1024³ matmul)`;
    if (!r.available) io.out(`  ${r.name.padEnd(10)}  unavailable: ${r.reason}\n`);
    else {
      const d = Object.entries(r.details ?? {})
        .map(([k, v]) => `${k} ${String(v)}`)
        .join(', ');
      io.out(`  ${r.name.padEnd(10)}  available${rate}\n              ${d}\n`);
    }
  }
  return EXIT.ok;
}
