/** "Did you mean" suggestions for misspelt names and keys. */

/**
 * The optimal string alignment distance (restricted Damerau–Levenshtein): insertions,
 * deletions, substitutions and transpositions of two adjacent letters each cost 1, so the
 * swapped letters of `adma` (adam) and `stpes` (steps) are one edit, not two.
 */
export function editDistance(a: string, b: string): number {
  // Three rows: two back (for transpositions), the previous one and the current one.
  let twoBack: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, twoBack[j - 2]! + 1);
      current.push(d);
    }
    twoBack = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/** The closest candidate to `input`, if one is close enough to be a likely typo. */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const needle = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(needle, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(1, Math.floor(needle.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

/** `did you mean "x"? choices: a, b, c` (or just the choices). */
export function choicesHint(
  input: string,
  candidates: readonly string[],
  noun = 'choices',
): string {
  const close = closestMatch(input, candidates);
  const list = candidates.length > 0 ? `${noun}: ${candidates.join(', ')}` : `no ${noun} available`;
  return close ? `did you mean "${close}"? ${list}` : list;
}
