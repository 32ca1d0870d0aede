/** Errors as a user should see them: what, where, what to do; a stack only when asked. */
import { isTdxError } from '@tdx/core';
import { EXIT, type CliIo } from './io.js';

export function reportError(error: unknown, io: CliIo, debug: boolean): number {
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
