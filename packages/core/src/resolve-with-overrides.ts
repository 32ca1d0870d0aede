/**
 * A spec resolved as a command runs it: with the caller's `--backend` (a problem with its value
 * located at the flag, not at the spec's backend line), plugin paths relative to the spec's
 * folder, and the runs' folders under `outDir`. Shared by local runs and runs on a queue, so
 * both accept and refuse exactly the same specs.
 */
import { dirname, resolve } from 'node:path';
import type { Registry } from './registry.js';
import { resolveExperiment } from './spec/resolve.js';
import { overriddenSource, type SpecSource } from './spec/source.js';

export interface ResolveOverrides {
  source?: SpecSource | undefined;
  backend?: string | undefined;
  forceSize?: boolean | undefined;
  outDir?: string | undefined;
}

export async function resolveWithOverrides(
  rawSpec: unknown,
  options: ResolveOverrides,
  registry: Registry,
) {
  const raw =
    options.backend === undefined ? rawSpec : { ...(rawSpec as object), backend: options.backend };
  const baseDir = options.source ? dirname(options.source.path) : process.cwd();
  const specSource =
    options.source && options.backend !== undefined
      ? overriddenSource(options.source, [
          { path: 'backend', origin: `--backend ${options.backend}` },
        ])
      : options.source;
  const outDir = resolve(options.outDir ?? 'runs');
  const resolved = await resolveExperiment(raw, {
    registry,
    baseDir,
    ...(specSource ? { source: specSource } : {}),
    ...(options.forceSize ? { forceSize: true } : {}),
    outDir,
  });
  return { ...resolved, baseDir, outDir };
}
