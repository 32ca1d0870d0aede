/** Errors across an IPC channel (core's pools, the queue's run process): a TdxError keeps its code, problems, hint and stack. */
import { TdxError, isTdxError } from '../errors.js';
import type { SerializedError } from './protocol.js';

export function serializeError(error: unknown): SerializedError {
  if (isTdxError(error))
    return {
      code: error.code,
      message: error.message,
      problems: error.problems,
      ...(error.hint ? { hint: error.hint } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
    };
  return {
    message: error instanceof Error ? error.message : String(error),
    ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
  };
}

export function deserializeError(e: SerializedError): TdxError {
  return new TdxError(e.code ?? 'WORKER_FAILED', e.message, {
    ...(e.problems ? { problems: e.problems } : {}),
    ...(e.hint ? { hint: e.hint } : {}),
  });
}
