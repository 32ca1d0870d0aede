/**
 * icl-adam-step, as bench/reference/pytorch_workloads.py defines it: the linear Transformer
 * of Ahn et al. with full (d+1)x(d+1) P and Q (init N(0, 0.1²)), d = 5, N = 20, L = 3, a fresh
 * batch of 1000 prompts generated inside every step, squared loss, one Adam step (lr 1e-3).
 * The step is the built-in trainer's, so this times exactly what `tdx run` does per step.
 */
import type { Registry } from '@tdx/core';
import { startMinibatchSession } from '@tdx/tensor';
import { kernelCount, medianMs } from './timing.js';

export async function iclAdamStep(
  registry: Registry,
): Promise<{ median_ms: number; kernels: number }> {
  const session = startMinibatchSession({
    dataset: registry.create(
      'dataset',
      { name: 'icl-linear-regression', d: 5, n: 20, batchSize: 1000 },
      { seed: 1 },
    ),
    model: registry.create(
      'model',
      { name: 'linear-transformer', layers: 3, parameterization: 'full', initStd: 0.1 },
      { seed: 0 },
    ),
    optimizer: registry.create('optimizer', { name: 'adam', lr: 1e-3 }),
    seed: 0,
  });
  let step = 0;
  const median = medianMs(() => session.step(step++), 30);
  const kernels = await kernelCount(() => session.step(step++));
  session.dispose();
  return { median_ms: median, kernels };
}
