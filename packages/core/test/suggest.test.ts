/** "Did you mean": the distance counts adjacent transpositions as one edit. */
import { describe, expect, it } from 'vitest';
import { choicesHint, closestMatch, editDistance } from '../src/index.js';

describe('editDistance (optimal string alignment)', () => {
  it('counts insertions, deletions and substitutions as Levenshtein does', () => {
    // Textbook values: kitten -> sitting is 3 (two substitutions and an insertion).
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('counts a swap of two adjacent letters as one edit (Levenshtein counts two)', () => {
    expect(editDistance('adma', 'adam')).toBe(1);
    expect(editDistance('stpes', 'steps')).toBe(1);
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('trian', 'train')).toBe(1);
    // Two separate swaps are two edits.
    expect(editDistance('abdc ef', 'abcd fe')).toBe(2);
  });

  it('is the restricted form: no substring is edited twice (CA -> ABC is 3, not 2)', () => {
    // The unrestricted Damerau–Levenshtein distance is 2 (CA -> AC -> ABC); OSA gives 3.
    expect(editDistance('ca', 'abc')).toBe(3);
  });

  it('is symmetric on a set of pairs', () => {
    const words = ['adam', 'adma', 'sgd', 'steps', 'stpes', 'logEvery', 'lgoEvery', 'x'];
    for (const a of words)
      for (const b of words) expect(editDistance(a, b)).toBe(editDistance(b, a));
  });
});

describe('closestMatch', () => {
  it('suggests names with swapped letters', () => {
    expect(closestMatch('adma', ['sgd', 'adam', 'blockwise-gd'])).toBe('adam');
    expect(closestMatch('stpes', ['steps', 'logEvery'])).toBe('steps');
    expect(choicesHint('adma', ['sgd', 'adam'])).toBe('did you mean "adam"? choices: sgd, adam');
  });

  it('suggests nothing for a name far from every choice', () => {
    expect(closestMatch('zzzz', ['sgd', 'adam'])).toBeUndefined();
  });
});
