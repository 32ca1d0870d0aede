import { writeReports, type Registry } from '@tdx/core';
import { EXIT, type CliIo } from '../io.js';

/**
 * `tdx report <dir>`: rebuilds summary.csv, report.html and figures from the files on disk.
 * It runs no code the folder names: only the plugin modules given with --plugins are loaded.
 */
export async function reportCommand(
  dir: string,
  options: { plugins?: string[] },
  registry: Registry,
  io: CliIo,
): Promise<number> {
  const plugins = (options.plugins ?? []).flatMap((p) =>
    p
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  const { files, errors, unreadable, notLoaded } = await writeReports(dir, { registry, plugins });
  for (const file of files) io.out(`${file}\n`);
  if (unreadable.length > 0) {
    io.err(`tdx: warning: ${unreadable.length} record(s) could not be read and are left out:\n`);
    for (const u of unreadable) io.err(`  - ${u}\n`);
  }
  if (notLoaded.length > 0)
    io.err(
      `tdx: the spec's plugin modules were not loaded (a results folder runs no code): ${notLoaded.join(', ')}; ` +
        `figures of their analyses are drawn from the recorded values; to load them: --plugins ${notLoaded.join(',')}\n`,
    );
  for (const message of errors) io.err(`tdx: ${message}\n`);
  return errors.length > 0 ? EXIT.runFailed : EXIT.ok;
}
