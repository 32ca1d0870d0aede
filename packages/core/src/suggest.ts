/** "Did you mean" suggestions for misspelt names and keys. */

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
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
