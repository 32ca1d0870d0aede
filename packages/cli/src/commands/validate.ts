import {
  flattenRef,
  readSpecFile,
  resolveExperiment,
  specToJson,
  TdxError,
  type BackendInstance,
  type Registry,
} from '@tdx/core';
import { dirname } from 'node:path';
import { EXIT, type CliIo } from '../io.js';

/** `tdx validate <spec>`: checks everything a run would check, runs nothing, prints the resolved spec. */
export async function validateCommand(
  specFile: string,
  registry: Registry,
  io: CliIo,
  options: { forceSize?: boolean } = {},
): Promise<number> {
  const source = readSpecFile(specFile);
  const { spec, runs, notices } = await resolveExperiment(source.raw, {
    registry: registry.child(),
    source,
    baseDir: dirname(source.path),
    ...(options.forceSize ? { forceSize: true } : {}),
  });
  // A backend that cannot run here fails validation too (exit 2), not the run later.
  const backend = registry.create<BackendInstance>('backend', flattenRef(spec.backend), {
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
