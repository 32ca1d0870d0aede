/**
 * Lost workers at random moments (tests/scripts/queue-kill-loop.mjs, which makes 20 kills by
 * hand): an 8-run sweep on the queue whose workers are SIGKILLed and replaced ends with the
 * folders of an uninterrupted local run, leaving nothing in Redis or the folders.
 */
import { expect, it } from 'vitest';
import { queueKillLoop } from '../scripts/queue-kill-loop.mjs';
import { describeWithRedis } from './queue-support.js';

describeWithRedis('workers SIGKILLed at random moments', () => {
  it('lose nothing: the sweep ends with the folders of an uninterrupted run', async () => {
    const lines: string[] = [];
    const { tried, survived, midway, failures } = await queueKillLoop({
      kills: 4,
      seed: 7,
      workers: 2,
      log: (l) => lines.push(l),
    });
    expect(failures, lines.join('\n')).toEqual([]);
    expect(tried).toBe(4);
    expect(survived).toBe(tried);
    expect(midway, lines.join('\n')).toBeGreaterThan(0);
  }, 600_000);
});
