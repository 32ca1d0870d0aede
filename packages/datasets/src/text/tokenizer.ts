/**
 * A deterministic word tokenizer: lowercase the text, then take the maximal runs of letters and
 * digits (of any script, Unicode classes L and N); everything else separates tokens and is
 * dropped. No stemming, no stop words, no sub-words: the same text gives the same tokens on
 * every machine (String.prototype.toLowerCase is locale-independent).
 */

const WORD = /[\p{L}\p{N}]+/gu;

/** The tokens of `text`, at most `limit` of them (the first ones; stops scanning there). */
export function tokenize(text: string, limit = Number.POSITIVE_INFINITY): string[] {
  const tokens: string[] = [];
  if (limit <= 0) return tokens;
  // Lowercase first, then split: lowercasing can change a character's class (e.g. 'İ').
  for (const match of text.toLowerCase().matchAll(WORD)) {
    tokens.push(match[0]);
    if (tokens.length >= limit) break;
  }
  return tokens;
}
