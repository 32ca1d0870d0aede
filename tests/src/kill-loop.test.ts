/**
 * Crash safety, repeated (tests/scripts/kill-loop.mjs, which runs 48 kills by hand): SIGKILLs of
 * the whole process group at random moments, then the spec again, give results identical to an
 * uninterrupted run's, and leave no folders, temporary files or claims behind.
 */
import { describe, expect, it } from 'vitest';
import { killLoop } from '../scripts/kill-loop.mjs';

describe('SIGKILL at random moments', () => {
  it('leaves results byte-identical to an uninterrupted run', async () => {
    const lines: string[] = [];
    const { tried, survived, failures } = await killLoop({
      kills: 4,
      seed: 7,
      log: (l) => lines.push(l),
    });
    expect(failures).toEqual([]);
    expect(tried).toBe(4);
    expect(survived).toBe(tried);
  }, 600_000);
});
