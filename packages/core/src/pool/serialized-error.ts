/** Errors across the IPC channel: a TdxError keeps its code, problems and hint. */
import { TdxError, isTdxError } from '../errors.js';
import type { SerializedError } from './protocol.js';

export function serializeError(error: unknown): SerializedError {
  if (isTdxError(error))
    return {
      code: error.code,
      message: error.message,
      problems: error.problems,
      ...(error.hint ? { hint: error.hint } : {}),
    };
  return { message: error instanceof Error ? error.message : String(error) };
}

export function deserializeError(e: SerializedError): TdxError {
  return new TdxError(e.code ?? 'WORKER_FAILED', e.message, {
    ...(e.problems ? { problems: e.problems } : {}),
    ...(e.hint ? { hint: e.hint } : {}),
  });
}
