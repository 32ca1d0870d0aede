import { flattenRef, resolveExperiment, specToJson, TdxError, type Registry } from '@tdx/core';
import { dirname } from 'node:path';
import { EXIT, type CliIo } from '../io.js';
import { readSpecWithOverrides } from '../overrides.js';

/**
 * `tdx validate <spec> [--set path=value ...]`: checks everything a run would check, with the
 * overrides `tdx run` takes, runs nothing, prints the resolved spec.
 */
export async function validateCommand(
  specFile: string,
  registry: Registry,
  io: CliIo,
  options: { forceSize?: boolean; set?: string[] } = {},
): Promise<number> {
  const { raw, source } = readSpecWithOverrides(specFile, options.set ?? []);
  const { spec, runs, notices } = await resolveExperiment(raw, {
    registry: registry.child(),
    source,
    baseDir: dirname(source.path),
    ...(options.forceSize ? { forceSize: true } : {}),
  });
  // A backend that cannot run here fails validation too (exit 2), not the run later.
  const backend = registry.create('backend', flattenRef(spec.backend), {
    path: 'backend',
  });
  const reason = backend.unavailable?.();
  if (reason)
    throw new TdxError('BACKEND_UNAVAILABLE', `the spec's backend cannot run here: ${reason}`, {
      hint: 'use backend: auto (tensorflow where built, else wasm), or --backend wasm',
    });
  for (const notice of notices) io.err(`tdx: note: ${notice}\n`);
  io.out(`${JSON.stringify(specToJson(spec), null, 2)}\n`);
  io.err(`tdx: ${specFile} is valid: ${runs.length} run(s) of ${spec.train.steps} steps\n`);
  return EXIT.ok;
}
