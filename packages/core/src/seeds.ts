/**
 * Seed derivation: every random draw in tdx takes a seed, and sub-seeds are derived from
 * the spec's seed by hashing labels, so adding an analysis never changes the data stream.
 */

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit seed derived from `seed` and the given labels; the same inputs give the same seed. */
export function deriveSeed(seed: number, ...labels: ReadonlyArray<string | number>): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  const text = labels.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h = fmix32(h ^ Math.imul(text.charCodeAt(i) + 1, 0x27d4eb2d));
  }
  return h;
}
