/**
 * The leak guard on steps whose tensor balance is known by construction: a step that keeps one
 * tensor more each time is a leak (reported once it has grown GROWING_STEPS_FOR_A_LEAK times in
 * a row), a tidy step is not, and neither is a single growth (a lazily built cache).
 */
import { expect, it, vi } from 'vitest';
import { tf } from '../src/index.js';
import { GROWING_STEPS_FOR_A_LEAK, LeakGuard } from '../src/trainer/leak-guard.js';
import { describeEachBackend } from './support/backends.js';

const tidyStep = () => tf.tidy(() => tf.sum(tf.mul(tf.ones([4]), 2)).dataSync()[0]!);

describeEachBackend('the leak guard', () => {
  it('reports a step that leaves a tensor behind, on the step that makes it a pattern', () => {
    const leaked: tf.Tensor[] = [];
    const leakyStep = () => {
      leaked.push(tf.zeros([2])); // deliberately outside tf.tidy and never disposed
      return tidyStep();
    };
    const guard = new LeakGuard('error');
    for (let i = 1; i < GROWING_STEPS_FOR_A_LEAK; i++) expect(guard.watch(leakyStep)).toBe(8);
    let error: unknown;
    try {
      guard.watch(leakyStep);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'RUN_FAILED',
      message: expect.stringMatching(/each training step leaves tensors behind/),
      hint: expect.stringMatching(/leakCheck to "warn"/),
    });
    expect(leaked).toHaveLength(GROWING_STEPS_FOR_A_LEAK);
    tf.dispose(leaked);
  });

  it('passes tidy steps, and a single growth between them', () => {
    const guard = new LeakGuard('error');
    const cache: tf.Tensor[] = [];
    for (let i = 0; i < 20; i++) {
      expect(guard.watch(tidyStep)).toBe(8);
      // One step that keeps a tensor (a cache built once), then tidy steps again.
      if (i === 5) guard.watch(() => cache.push(tf.keep(tf.ones([1]))));
    }
    tf.dispose(cache);
  });

  it('warns once in "warn" mode and says nothing in "off" mode', () => {
    const leaked: tf.Tensor[] = [];
    const leakyStep = () => void leaked.push(tf.zeros([1]));
    const warnings: string[] = [];
    const warned = new LeakGuard('warn', (m) => warnings.push(m));
    for (let i = 0; i < 10; i++) warned.watch(leakyStep);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^tdx: each training step leaves tensors behind \(\d+ live now\)/);

    const quiet = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const off = new LeakGuard('off');
    for (let i = 0; i < 10; i++) off.watch(leakyStep);
    expect(quiet).not.toHaveBeenCalled();
    quiet.mockRestore();
    tf.dispose(leaked);
  });
});
