import { tf } from '@tdx/tensor';

/** Timing as the PyTorch reference does it: a few warm-up calls, then the median of repeats. */
export function medianMs(fn: () => void, repeats: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
}

/** Kernels launched by one call of `fn` (engine scopes are not kernels). */
export async function kernelCount(fn: () => void): Promise<number> {
  const info = await tf.profile(fn);
  return info.kernels.filter((k) => k.name !== 'unnamed scope').length;
}
