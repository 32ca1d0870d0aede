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
import { applyOverrides, locateOverrideProblems } from '../overrides.js';

/**
 * `tdx validate <spec> [--set path=value ...]`: checks everything a run would check, with the
 * same overrides `tdx run` takes, runs nothing, prints the resolved spec.
 */
export async function validateCommand(
  specFile: string,
  registry: Registry,
  io: CliIo,
  overrides: readonly string[] = [],
): Promise<number> {
  const source = readSpecFile(specFile);
  const raw = applyOverrides(source.raw, overrides);
  const { spec, runs } = await resolveExperiment(raw, {
    registry: registry.child(),
    source,
    baseDir: dirname(source.path),
  }).catch((error: unknown) => {
    throw locateOverrideProblems(error, source.raw, overrides);
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
  io.out(`${JSON.stringify(specToJson(spec), null, 2)}\n`);
  io.err(`tdx: ${specFile} is valid: ${runs.length} run(s) of ${spec.train.steps} steps\n`);
  return EXIT.ok;
}
