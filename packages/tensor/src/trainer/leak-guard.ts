/**
 * Notices training steps that leave tensors behind. One step may legitimately grow the number
 * of live tensors (a lazily built cache, say); a growth over several steps in a row is a leak
 * that would slowly eat memory, and is reported instead: an error that names the likely cause
 * (the default), a warning printed once, or nothing.
 */
import { TdxError } from '@tdx/core';
import { tf } from '../tf.js';

export type LeakCheck = 'error' | 'warn' | 'off';

/** Steps in a row that grow the number of live tensors before it counts as a leak. */
export const GROWING_STEPS_FOR_A_LEAK = 3;

export class LeakGuard {
  private growingSteps = 0;
  private warned = false;

  constructor(
    private readonly mode: LeakCheck,
    private readonly warn: (message: string) => void = (m) => console.warn(m),
  ) {}

  /** Runs one step and checks that it left no more live tensors than there were before it. */
  watch<T>(step: () => T): T {
    const before = tf.memory().numTensors;
    const result = step();
    this.check(before);
    return result;
  }

  private check(before: number): void {
    if (this.mode === 'off') return;
    this.growingSteps = tf.memory().numTensors > before ? this.growingSteps + 1 : 0;
    if (this.growingSteps < GROWING_STEPS_FOR_A_LEAK) return;
    const message = `each training step leaves tensors behind (${tf.memory().numTensors} live now): a dataset, model or optimizer plugin allocates tensors outside tf.tidy or keeps them`;
    if (this.mode === 'error')
      throw new TdxError('RUN_FAILED', message, {
        hint: 'set trainer.leakCheck to "warn" to go on anyway',
      });
    if (!this.warned) this.warn(`tdx: ${message}`);
    this.warned = true;
  }
}
