import { readSpecFile, resolveExperiment, specToJson, type Registry } from '@tdx/core';
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
  const { spec, runs } = await resolveExperiment(source.raw, {
    registry: registry.child(),
    source,
    baseDir: dirname(source.path),
    ...(options.forceSize ? { forceSize: true } : {}),
  });
  io.out(`${JSON.stringify(specToJson(spec), null, 2)}\n`);
  io.err(`tdx: ${specFile} is valid: ${runs.length} run(s) of ${spec.train.steps} steps\n`);
  return EXIT.ok;
}
