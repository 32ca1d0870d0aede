/** Writing a report's files: atomically, and failing with a TdxError that says which file. */
import { TdxError, writeTextAtomic } from '@tdx/core';

export function writeReportFile(path: string, text: string): string {
  try {
    writeTextAtomic(path, text);
  } catch (error) {
    // writeTextAtomic's IO errors already name the file and the reason.
    if (error instanceof TdxError) throw error;
    throw new TdxError(
      'IO',
      `cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { hint: 'check that the experiment folder exists and is writable', cause: error },
    );
  }
  return path;
}
