import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '@tdx/core';
import { tf, useBackend, type Dataset } from '@tdx/tensor';
import {
  HAM,
  loadSpamAssassin,
  mailText,
  SPAM,
  spamAssassin,
  spamAssassinConfig,
  spamLabel,
  splitSpamAssassin,
} from '../src/spam-assassin.js';
import { tokenize } from '../src/text/tokenizer.js';
import { PAD_ID, UNKNOWN_ID, Vocabulary } from '../src/text/vocabulary.js';

beforeAll(() => useBackend('cpu'));
const dataset = (ref: Record<string, unknown>, seed = 1) =>
  createRegistry()
    .register(spamAssassin)
    .create<Dataset>('dataset', { name: 'spam-assassin', ...ref }, { seed });
const rowsOf = (t: tf.Tensor) => (t.arraySync() as number[][]).map((r) => r.join(' '));

describe('tokenizer', () => {
  it('lowercases and splits on everything but letters and digits, in any script', () => {
    expect(tokenize('Hello, WORLD! Call 555-0199 now: $$$ FREE!!!')).toEqual([
      'hello',
      'world',
      'call',
      '555',
      '0199',
      'now',
      'free',
    ]);
    expect(tokenize('<a href="http://x.com/?id=7">Ünïcode_Straße</a>')).toEqual([
      'a',
      'href',
      'http',
      'x',
      'com',
      'id',
      '7',
      'ünïcode',
      'straße',
      'a',
    ]);
    expect(tokenize('  \n\t...  ')).toEqual([]);
  });

  it('stops after `limit` tokens', () => {
    expect(tokenize('a b c d e', 3)).toEqual(['a', 'b', 'c']);
    expect(tokenize('a b', 0)).toEqual([]);
  });
});

describe('vocabulary', () => {
  it('ranks by count, ties by code-unit order, reserving 0 for padding and 1 for unknown', () => {
    const v = Vocabulary.fromDocuments(
      [
        ['b', 'a', 'c'],
        ['c', 'b', 'd'],
        ['c', 'e'],
      ],
      5,
    );
    // Counts c 3, b 2, then a, d, e 1 each: the tie goes to a, and d, e do not fit.
    expect(v.words).toEqual(['c', 'b', 'a']);
    expect(v.size).toBe(5);
    expect([v.id('c'), v.id('b'), v.id('a'), v.id('d'), v.id('<pad>')]).toEqual([2, 3, 4, 1, 1]);
    expect(Array.from(v.encode(['a', 'zzz', 'c'], 5))).toEqual([4, UNKNOWN_ID, 2, PAD_ID, PAD_ID]);
    expect(Array.from(v.encode(['a', 'b', 'c', 'a'], 2))).toEqual([4, 3]);
    expect(() => Vocabulary.fromDocuments([], 2)).toThrow(/room for padding, unknown/);
  });
});

describe('spam-assassin corpus', () => {
  it('holds 6,046 messages: 4,150 ham (easy-ham-1, easy-ham-2, hard-ham-1) and 1,896 spam', () => {
    const corpus = loadSpamAssassin();
    expect(corpus.texts.length).toBe(6046);
    const groups: Record<string, number> = {};
    for (const g of corpus.groups) groups[g] = (groups[g] ?? 0) + 1;
    expect(groups).toEqual({
      'easy-ham-1': 2500,
      'easy-ham-2': 1400,
      'hard-ham-1': 250,
      'spam-1': 500,
      'spam-2': 1396,
    });
    expect(corpus.labels.filter((l) => l === SPAM).length).toBe(1896);
    expect(corpus.labels.filter((l) => l === HAM).length).toBe(4150);
    expect(() => spamLabel('medium-ham-1')).toThrow(/unknown SpamAssassin message group/);
  });

  it('keeps the Subject (folded lines too) and drops the other headers unless asked', () => {
    const raw =
      'From x@y.org Thu Aug 22\nReceived: from relay.example\nSubject: Cheap\n  Meds NOW\nX-Spam: yes\n\nBuy here.\n\nBye';
    expect(tokenize(mailText(raw, 'subject'))).toEqual([
      'cheap',
      'meds',
      'now',
      'buy',
      'here',
      'bye',
    ]);
    expect(tokenize(mailText(raw, 'none'))).toEqual(['buy', 'here', 'bye']);
    expect(tokenize(mailText(raw, 'all'))).toContain('relay');
    expect(tokenize(mailText('Subject: hi\r\nTo: me\r\n\r\nbody', 'subject'))).toEqual([
      'hi',
      'body',
    ]);
  });
});

describe('spam-assassin dataset', () => {
  const config = spamAssassinConfig.parse({ length: 32, vocabulary: 300 });

  it('splits each class by trainFraction and reports the label balance', () => {
    const data = dataset({ length: 32, vocabulary: 300, evalBatchSize: 200 });
    const meta = data.info.meta;
    expect(data.info).toMatchObject({
      task: 'text-classification',
      inputShape: [32],
      targetShape: [],
    });
    // Stratified: round(0.8 · 4150) = 3320 ham and round(0.8 · 1896) = 1517 spam for training.
    expect(meta).toMatchObject({
      vocabulary: 300,
      classes: 2,
      padId: 0,
      unknownId: 1,
      trainExamples: 3320 + 1517,
      testExamples: 830 + 379,
      trainSpam: 1517,
      testSpam: 379,
      evalExamples: 200,
    });
    const evalTargets = Array.from(data.evalBatch!().targets.dataSync());
    expect(evalTargets.length).toBe(200);
    expect(evalTargets.reduce((a, b) => a + b, 0)).toBe(meta.evalSpam);
    // A random slice of the test split: both classes, roughly in their proportion (379/1209).
    expect(meta.evalSpam).toBeGreaterThan(40);
    expect(meta.evalSpam).toBeLessThan(90);
    data.dispose();

    const balanced = dataset({ length: 32, vocabulary: 300, balance: true, trainFraction: 0.5 });
    expect(balanced.info.meta).toMatchObject({
      trainExamples: 2 * 948,
      testExamples: 2 * 948,
      trainSpam: 948,
      testSpam: 948,
    });
    balanced.dispose();
  });

  it('builds the vocabulary from the training split only; test-only tokens are unknown', () => {
    const corpus = loadSpamAssassin();
    const split = splitSpamAssassin(config, 7);
    expect(new Set([...split.train, ...split.test]).size).toBe(6046);
    const tokensOf = (i: number) => tokenize(mailText(corpus.texts[i]!, 'subject'), 32);
    const trainTokens = new Set(split.train.flatMap(tokensOf));
    expect(split.vocabulary.words.every((w) => trainTokens.has(w))).toBe(true);
    expect(split.vocabulary.words).toEqual(
      Vocabulary.fromDocuments(split.train.map(tokensOf), 300).words,
    );
    // Every token seen only in test messages is encoded as unknown there.
    let testOnly = 0;
    split.test.forEach((message, row) => {
      tokensOf(message).forEach((token, t) => {
        if (trainTokens.has(token)) return;
        testOnly++;
        expect(split.testIds[row * 32 + t]).toBe(UNKNOWN_ID);
      });
    });
    expect(testOnly).toBeGreaterThan(100);
    // A frequent test-only token would have entered a vocabulary built from everything.
    const all = Vocabulary.fromDocuments([...split.train, ...split.test].map(tokensOf), 300);
    expect(all.words).not.toEqual(split.vocabulary.words);
  });

  it('pads short messages at the end with 0 and truncates long ones to `length`', () => {
    const corpus = loadSpamAssassin();
    const split = splitSpamAssassin(config, 3);
    let padded = 0;
    split.train.forEach((message, row) => {
      const tokens = tokenize(mailText(corpus.texts[message]!, 'subject'));
      const ids = split.trainIds.subarray(row * 32, (row + 1) * 32);
      const real = Math.min(32, tokens.length);
      expect(ids.slice(0, real).every((id) => id !== PAD_ID)).toBe(true);
      expect(ids.slice(real).every((id) => id === PAD_ID)).toBe(true);
      expect(Array.from(ids.slice(0, real))).toEqual(
        tokens.slice(0, real).map((t) => split.vocabulary.id(t)),
      );
      if (real < 32) padded++;
    });
    expect(padded).toBeGreaterThan(0);
  });

  it('gives batches that are a pure function of (seed, step), each epoch a permutation', () => {
    const small = { length: 16, vocabulary: 200, batchSize: 50, evalBatchSize: 20 };
    const a = dataset(small, 4);
    const b = dataset(small, 4);
    const c = dataset(small, 5);
    tf.tidy(() => {
      const batch = a.batch(3);
      expect(batch.inputs.shape).toEqual([50, 16]);
      expect(batch.inputs.dtype).toBe('int32');
      expect(batch.targets.shape).toEqual([50]);
      expect(batch.targets.dtype).toBe('int32');
      expect(rowsOf(a.batch(3).inputs)).toEqual(rowsOf(b.batch(3).inputs));
      expect(Array.from(a.batch(3).targets.dataSync())).toEqual(
        Array.from(b.batch(3).targets.dataSync()),
      );
      // Out of order: the same batch whatever was asked before.
      expect(rowsOf(b.batch(90).inputs)).toEqual(rowsOf(a.batch(90).inputs));
      expect(rowsOf(a.batch(3).inputs)).not.toEqual(rowsOf(c.batch(3).inputs));
      expect(rowsOf(a.batch(-1).inputs)).not.toEqual(rowsOf(a.batch(0).inputs));
      expect(rowsOf(a.evalBatch!().inputs)).toEqual(rowsOf(b.evalBatch!().inputs));
    });
    // One epoch (4837 training messages) visits every training row once: count the labels.
    const trainExamples = a.info.meta.trainExamples as number;
    const epochSteps = Math.floor(trainExamples / 50);
    let spam = 0;
    for (let s = 0; s < epochSteps; s++)
      spam += tf.tidy(() => tf.sum(a.batch(s).targets).dataSync()[0]!);
    const rest = trainExamples - epochSteps * 50;
    const tail = tf.tidy(() => Array.from(a.batch(epochSteps).targets.dataSync()).slice(0, rest));
    expect(spam + tail.reduce((x, y) => x + y, 0)).toBe(a.info.meta.trainSpam);
    for (const d of [a, b, c]) d.dispose();
  });

  it('keeps its evaluation batch out of enclosing tidies and leaks nothing', () => {
    const data = dataset({ length: 8, vocabulary: 50, evalBatchSize: 10 });
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      data.batch(0);
      data.evalBatch!();
    });
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(data.evalBatch!().inputs.isDisposed).toBe(false);
    data.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a split that leaves a class without training or test messages', () => {
    expect(() => dataset({ trainFraction: 0.0001 })).toThrow(/without training messages/);
  });
});
