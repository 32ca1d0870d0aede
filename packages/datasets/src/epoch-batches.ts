/**
 * Minibatches that walk a finite training set epoch by epoch, each epoch a seeded permutation:
 * batch(step) is the examples step·B .. step·B + B − 1 of that endless sequence, a pure function
 * of the seed and the step (so a resumed run sees the same batches). Negative steps (the extra
 * batches analyses reserve) walk a separate stream that training never sees.
 */
import type { Rng } from '@tdx/tensor';

/** Returns `indices(step)`: positions into the training set for batch `step`. */
export function epochBatches(
  rng: Rng,
  trainSize: number,
  batchSize: number,
): (step: number) => number[] {
  // The last few epochs' permutations, so consecutive batches do not reshuffle.
  const epochs = new Map<string, number[]>();
  const permutation = (stream: string, epoch: number): number[] => {
    const key = `${stream}:${epoch}`;
    let order = epochs.get(key);
    if (!order) {
      if (epochs.size > 2) epochs.delete(epochs.keys().next().value!);
      order = rng.fork(stream, epoch).shuffle(Array.from({ length: trainSize }, (_, i) => i));
      epochs.set(key, order);
    }
    return order;
  };
  return (step) => {
    const stream = step >= 0 ? 'epoch' : 'reserve';
    const index = step >= 0 ? step : -step - 1;
    return Array.from({ length: batchSize }, (_, i) => {
      const position = index * batchSize + i;
      return permutation(stream, Math.floor(position / trainSize))[position % trainSize]!;
    });
  };
}
