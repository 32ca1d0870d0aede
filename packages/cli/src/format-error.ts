/** Errors as a user should see them: what, where, what to do; a stack only when asked. */
import { fsErrorCode, ioError, isTdxError } from '@tdx/core';
import { EXIT, type CliIo } from './io.js';

export function reportError(thrown: unknown, io: CliIo, debug: boolean): number {
  // A file-system failure that reached here unnamed (ENOSPC, EACCES) is still said in words.
  const path = (thrown as { path?: unknown } | null)?.path;
  const error =
    !isTdxError(thrown) && fsErrorCode(thrown)
      ? ioError(thrown, 'write', typeof path === 'string' ? path : 'a file')
      : thrown;
  if (isTdxError(error)) {
    io.err(`tdx: error [${error.code}]: ${error.format()}\n`);
    if (debug && error.stack) io.err(`${error.stack}\n`);
    return error.isInputError ? EXIT.badInput : EXIT.runFailed;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`tdx: internal error: ${message}\n`);
  io.err(
    debug && error instanceof Error && error.stack
      ? `${error.stack}\n`
      : 'run again with --debug for the stack trace\n',
  );
  return EXIT.runFailed;
}
