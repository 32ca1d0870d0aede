import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '@tdx/core';
import { Rng, tf, useBackend, type Dataset } from '@tdx/tensor';
import { IGNORE_ID, maskTokens, register } from '../src/index.js';

beforeAll(() => useBackend('cpu'));
const create = (ref: Record<string, unknown>, seed = 1) =>
  register(createRegistry()).create<Dataset>('dataset', ref, { seed });

describe('masked-tokens', () => {
  it('chooses round(15%) of each sequence’s tokens, masks 80%, randomises 10%, keeps 10%', () => {
    const [count, length, V] = [400, 40, 50];
    const rng = new Rng(3);
    const ids = Int32Array.from({ length: count * length }, () => rng.int(V));
    const { inputs, targets } = maskTokens(
      ids,
      count,
      length,
      { vocabulary: V, maskId: V, maskFraction: 0.15, maskToken: 0.8, randomToken: 0.1 },
      new Rng(4),
    );
    let [masked, changed, kept] = [0, 0, 0];
    for (let s = 0; s < count; s++) {
      let chosen = 0;
      for (let t = 0; t < length; t++) {
        const i = s * length + t;
        if (targets[i] === IGNORE_ID) {
          expect(inputs[i]).toBe(ids[i]);
          continue;
        }
        chosen++;
        expect(targets[i]).toBe(ids[i]);
        if (inputs[i] === V) masked++;
        else if (inputs[i] !== ids[i]) changed++;
        else kept++;
      }
      expect(chosen).toBe(6); // round(0.15 · 40)
    }
    const total = masked + changed + kept;
    expect(masked / total).toBeCloseTo(0.8, 1);
    // A random token equals the original 1 time in V: it counts as kept then.
    expect(changed / total).toBeCloseTo(0.1 * (1 - 1 / V), 1);
    expect(kept / total).toBeCloseTo(0.1 + 0.1 / V, 1);
  });

  it('never chooses padding, never draws it, and chooses at least one token per sequence', () => {
    const ids = Int32Array.from([5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // [2, 8]; row 1 empty
    for (let seed = 0; seed < 50; seed++) {
      const { inputs, targets } = maskTokens(
        ids,
        2,
        8,
        { vocabulary: 7, maskId: 7, padId: 0, maskFraction: 0.15, maskToken: 0, randomToken: 1 },
        new Rng(seed),
      );
      expect(Array.from(targets).filter((t) => t !== IGNORE_ID).length).toBe(1);
      expect(Array.from(targets.subarray(2))).toEqual(Array(14).fill(IGNORE_ID));
      expect(Array.from(inputs.subarray(2))).toEqual(Array(14).fill(0));
      expect(Array.from(inputs.subarray(0, 2)).every((x) => x >= 1 && x < 7)).toBe(true);
    }
  });

  it('wraps markov-text: one more token id, batches a pure function of (seed, step)', () => {
    const data = create({
      name: 'masked-tokens',
      source: { name: 'markov-text', vocabulary: 16, length: 20 },
    });
    expect(data.info).toMatchObject({
      task: 'masked-language-modelling',
      inputShape: [20],
      targetShape: [20],
      meta: { vocabulary: 17, maskId: 16, ignoreId: -1, source: 'language-modelling' },
    });
    const again = create({
      name: 'masked-tokens',
      source: { name: 'markov-text', vocabulary: 16, length: 20 },
    });
    const before = tf.memory().numTensors;
    const [a, b, c] = [data.batch(3), again.batch(3), data.batch(4)];
    expect(Array.from(a.inputs.dataSync())).toEqual(Array.from(b.inputs.dataSync()));
    expect(Array.from(a.targets.dataSync())).toEqual(Array.from(b.targets.dataSync()));
    expect(Array.from(a.inputs.dataSync())).not.toEqual(Array.from(c.inputs.dataSync()));
    // The unmasked tokens are the source's: the masked stream sits on the same text.
    const plain = create({ name: 'markov-text', vocabulary: 16, length: 20 }).batch(3);
    const [x, y, t] = [a.inputs.dataSync(), plain.inputs.dataSync(), a.targets.dataSync()];
    for (let i = 0; i < x.length; i++) expect(t[i] === -1 ? x[i] : t[i]).toBe(y[i]);
    tf.dispose([
      a.inputs,
      a.targets,
      b.inputs,
      b.targets,
      c.inputs,
      c.targets,
      plain.inputs,
      plain.targets,
    ]);
    expect(tf.memory().numTensors).toBe(before);
    const evalBatch = data.evalBatch!();
    expect(data.evalBatch!()).toBe(evalBatch);
    data.dispose();
    again.dispose();
  });

  it('wraps spam-assassin with its padding, and says what sources do not fit', () => {
    const data = create({
      name: 'masked-tokens',
      source: {
        name: 'spam-assassin',
        length: 16,
        vocabulary: 100,
        batchSize: 4,
        evalBatchSize: 8,
      },
    });
    expect(data.info.meta).toMatchObject({ vocabulary: 101, maskId: 100, padId: 0 });
    const batch = data.batch(0);
    const [x, t] = [batch.inputs.dataSync(), batch.targets.dataSync()];
    for (let i = 0; i < x.length; i++) if (x[i] === 0) expect(t[i]).toBe(-1);
    tf.dispose([batch.inputs, batch.targets]);
    data.dispose();
    expect(() => create({ name: 'masked-tokens', source: 'icl-linear-regression' })).toThrow(
      /masked-tokens needs a source of token sequences/,
    );
    expect(
      register(createRegistry()).check(
        'dataset',
        { name: 'masked-tokens', maskToken: 0.9, randomToken: 0.2 },
        'dataset',
      ).problems[0]!.path,
    ).toBe('dataset.randomToken');
  });
});
