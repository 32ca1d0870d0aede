/**
 * A closed vocabulary: the most frequent tokens of a set of documents get ids 2, 3, ... in order
 * of decreasing count (ties by code-unit order, so the ids do not depend on document order);
 * id 0 is padding and id 1 stands for every other token. Build it from the training split only,
 * so that nothing about the test split leaks into the inputs.
 */
import { TdxError } from '@tdx/core';

export const PAD_ID = 0;
export const UNKNOWN_ID = 1;
/** Ids reserved before the first word: padding and unknown. */
export const RESERVED_IDS = 2;

export class Vocabulary {
  private readonly ids: Map<string, number>;

  /** `words[i]` gets id i + RESERVED_IDS. */
  private constructor(readonly words: readonly string[]) {
    this.ids = new Map(words.map((w, i) => [w, i + RESERVED_IDS]));
  }

  /** The `size` − 2 most frequent tokens of `documents` (fewer when there are fewer). */
  static fromDocuments(documents: Iterable<readonly string[]>, size: number): Vocabulary {
    if (!Number.isInteger(size) || size < RESERVED_IDS + 1) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `a vocabulary needs room for padding, unknown and at least one word, got size ${size}`,
        { hint: `use a size of at least ${RESERVED_IDS + 1}` },
      );
    }
    const counts = new Map<string, number>();
    for (const tokens of documents) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    const ranked = [...counts].sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0));
    return new Vocabulary(ranked.slice(0, size - RESERVED_IDS).map(([w]) => w));
  }

  /** Number of ids, the reserved ones included: the rows of an embedding table. */
  get size(): number {
    return this.words.length + RESERVED_IDS;
  }

  id(token: string): number {
    return this.ids.get(token) ?? UNKNOWN_ID;
  }

  /** Ids of the first `length` tokens, padded with PAD_ID at the end to exactly `length`. */
  encode(tokens: readonly string[], length: number): Int32Array {
    const out = new Int32Array(length).fill(PAD_ID);
    for (let i = 0; i < Math.min(length, tokens.length); i++) out[i] = this.id(tokens[i]!);
    return out;
  }
}
