/** Telling a plugin that is not loaded here apart from one that failed. */
import { TdxError } from '@tdx/core';

/**
 * A report may be built where a spec's plugin module is not loaded (`tdx report` without
 * `--plugins`): such a plugin is unknown to the registry, an expected gap, not a failure.
 */
export function isNotLoaded(error: unknown): boolean {
  return error instanceof TdxError && error.code === 'PLUGIN_UNKNOWN';
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
