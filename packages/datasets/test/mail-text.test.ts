import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '@tdx/core';
import { tf, useBackend, type Dataset } from '@tdx/tensor';
import {
  CHARACTERS,
  decodeCharacters,
  encodeCharacters,
  mailStreams,
  mailTextConfig,
  register,
  UNKNOWN_CHARACTER,
} from '../src/index.js';

beforeAll(() => useBackend('cpu'));
const create = (ref: Record<string, unknown>, seed = 1) =>
  register(createRegistry()).create<Dataset>('dataset', ref, { seed });

describe('mail-text', () => {
  it('encodes characters: printable ASCII, newline and tab, one id for the rest, \\r dropped', () => {
    expect(CHARACTERS.length).toBe(97);
    expect(Array.from(encodeCharacters('A a\r\n~\t€'))).toEqual([
      33,
      0,
      65,
      95,
      94,
      96,
      UNKNOWN_CHARACTER,
    ]);
    expect(decodeCharacters(encodeCharacters('Hello, World!\n'))).toBe('Hello, World!\n');
  });

  it('gives windows of the training stream, targets the next characters, per (seed, step)', () => {
    const data = create({ name: 'mail-text', length: 24, batchSize: 4, evalBatchSize: 8 });
    expect(data.info).toMatchObject({
      task: 'language-modelling',
      inputShape: [24],
      targetShape: [24],
      meta: { vocabulary: 98, level: 'char' },
    });
    const { train, test } = mailStreams(mailTextConfig.parse({ length: 24 }), 1);
    expect(train.length).toBeGreaterThan(1e6);
    expect(test.length).toBeGreaterThan(1e5);
    const batch = data.batch(5);
    const [x, y] = [
      batch.inputs.arraySync() as number[][],
      batch.targets.arraySync() as number[][],
    ];
    for (let b = 0; b < 4; b++) expect(y[b]!.slice(0, -1)).toEqual(x[b]!.slice(1));
    // Each window is a piece of the training stream.
    const text = decodeCharacters(train);
    expect(text.includes(decodeCharacters(x[0]!))).toBe(true);
    const again = create({ name: 'mail-text', length: 24, batchSize: 4, evalBatchSize: 8 }).batch(
      5,
    );
    expect(again.inputs.arraySync()).toEqual(x);
    expect(data.batch(6).inputs.arraySync()).not.toEqual(x);
    const evalBatch = data.evalBatch!();
    expect(evalBatch.inputs.shape).toEqual([8, 24]);
    expect(
      decodeCharacters(test).includes(
        decodeCharacters((evalBatch.inputs.arraySync() as number[][])[0]!),
      ),
    ).toBe(true);
    tf.dispose([batch.inputs, batch.targets, again.inputs, again.targets]);
    data.dispose();
  });

  it('has a word level with a training-split vocabulary', () => {
    const data = create({
      name: 'mail-text',
      level: 'word',
      vocabulary: 500,
      length: 16,
      batchSize: 2,
    });
    expect(data.info.meta).toMatchObject({ vocabulary: 500, level: 'word' });
    const batch = data.batch(0);
    const ids = Array.from(batch.inputs.dataSync());
    expect(ids.every((i) => i >= 1 && i < 500)).toBe(true);
    tf.dispose([batch.inputs, batch.targets]);
    data.dispose();
  });
});
