import { writeReports, type Registry } from '@tdx/core';
import { EXIT, type CliIo } from '../io.js';

/** `tdx report <dir>`: rebuilds summary.csv, report.html and figures from the files on disk. */
export async function reportCommand(dir: string, registry: Registry, io: CliIo): Promise<number> {
  const { files, errors } = await writeReports(dir, { registry });
  for (const file of files) io.out(`${file}\n`);
  for (const message of errors) io.err(`tdx: ${message}\n`);
  return errors.length > 0 ? EXIT.runFailed : EXIT.ok;
}
