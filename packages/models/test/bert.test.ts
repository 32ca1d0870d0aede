import { describe, expect, it } from 'vitest';
import { Rng, tf, useBackend, type Batch } from '@tdx/tensor';
import { bertConfig, buildBert, maskedCrossEntropy, parameterCount } from '../src/index.js';
import { expectExactHvp } from './support/checks.js';

const mlmInfo = (length: number, vocabulary: number, padId?: number) => ({
  task: 'masked-language-modelling',
  inputShape: [length],
  targetShape: [length],
  meta: {
    vocabulary,
    maskId: vocabulary - 1,
    ignoreId: -1,
    ...(padId === undefined ? {} : { padId }),
  },
});

/** Tokens in [1, V−1) (0 padding where `lengths` end), about a third chosen (−1 elsewhere). */
function mlmBatch(seed: number, lengths: number[], T: number, V: number): Batch {
  const rng = new Rng(seed);
  const inputs: number[] = [];
  const targets: number[] = [];
  for (const n of lengths)
    for (let t = 0; t < T; t++) {
      const real = t < n;
      const chosen = real && (rng.uniform() < 0.35 || t === 0);
      inputs.push(!real ? 0 : chosen ? V - 1 : 1 + rng.int(V - 2));
      targets.push(chosen ? 1 + rng.int(V - 2) : -1);
    }
  return {
    inputs: tf.tensor2d(inputs, [lengths.length, T], 'int32'),
    targets: tf.tensor2d(targets, [lengths.length, T], 'int32'),
  };
}

const tiny = (extra: Record<string, unknown> = {}) =>
  bertConfig.parse({ layers: 2, width: 8, heads: 2, mlpRatio: 2, initStd: 0.3, ...extra });

const logSoftmaxRow = (row: number[]) => {
  const m = Math.max(...row);
  const z = Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0)) + m;
  return row.map((x) => x - z);
};

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`bert [${backend}]`, () => {
    it('has exact Hessian-vector products: tied decoder, and with padding and a separate decoder', async () => {
      await useBackend(backend);
      const model = buildBert(tiny(), mlmInfo(5, 8), 3);
      const batch = mlmBatch(1, [5, 5, 5], 5, 8);
      await expectExactHvp(model, batch);
      await expectExactHvp(model, batch, { wrt: model.params.select({ role: 'key' }) });
      model.dispose();
      tf.dispose([batch.inputs, batch.targets]);
      const padded = buildBert(tiny({ tiedHead: false }), mlmInfo(6, 8, 0), 4);
      const shorter = mlmBatch(2, [6, 4, 2], 6, 8);
      await expectExactHvp(padded, shorter);
      padded.dispose();
      tf.dispose([shorter.inputs, shorter.targets]);
    });
  });
}

describe('bert', () => {
  it('computes the masked-token loss over the chosen positions only, checked by hand', async () => {
    await useBackend('cpu');
    const logits = [
      [
        [1, 2, 0.5],
        [3, -1, 0],
        [0.2, 0.1, -0.4],
      ],
    ];
    const targets = [[2, -1, 0]];
    const loss = tf.tidy(
      () =>
        maskedCrossEntropy(
          tf.tensor3d(logits),
          tf.tensor2d(targets, [1, 3], 'int32'),
        ).dataSync()[0]!,
    );
    // Position 0 predicts class 2, position 2 class 0; position 1 is not predicted.
    const expected = -(logSoftmaxRow(logits[0]![0]!)[2]! + logSoftmaxRow(logits[0]![2]!)[0]!) / 2;
    expect(loss).toBeCloseTo(expected, 6);
    // ln(e + e² + e^0.5) − 0.5 = 1.964369, ln(e^0.2 + e^0.1 + e^−0.4) − 0.2 = 0.897576.
    expect(loss).toBeCloseTo((1.964369 + 0.897576) / 2, 5);
    // Nothing chosen: zero, not 0/0.
    const none = tf.tidy(
      () =>
        maskedCrossEntropy(
          tf.tensor3d(logits),
          tf.tensor2d([[-1, -1, -1]], [1, 3], 'int32'),
        ).dataSync()[0]!,
    );
    expect(Math.abs(none)).toBe(0);
  });

  it('its loss is the cross-entropy of its own logits at the masked positions, by hand', async () => {
    await useBackend('wasm');
    const model = buildBert(tiny(), mlmInfo(6, 9, 0), 5);
    const batch = mlmBatch(3, [6, 3], 6, 9);
    const values = model.params.values();
    const loss = tf.tidy(() => model.loss(values, batch).dataSync()[0]!);
    const logits = tf.tidy(() => model.predict(values, batch.inputs).arraySync()) as number[][][];
    const targets = batch.targets.arraySync() as number[][];
    let [sum, count] = [0, 0];
    targets.forEach((row, b) =>
      row.forEach((t, i) => {
        if (t < 0) return;
        sum -= logSoftmaxRow(logits[b]![i]!)[t]!;
        count++;
      }),
    );
    expect(count).toBeGreaterThan(1);
    expect(loss).toBeCloseTo(sum / count, 5);
    // Starts near ln V: the predictions are close to uniform at initialisation (initStd 0.02).
    const fresh = buildBert(bertConfig.parse({ width: 16, heads: 2 }), mlmInfo(6, 9, 0), 5);
    const start = tf.tidy(() => fresh.loss(fresh.params.values(), batch).dataSync()[0]!);
    expect(Math.abs(start - Math.log(9))).toBeLessThan(0.1);
    fresh.dispose();
    model.dispose();
    tf.dispose([batch.inputs, batch.targets]);
  });

  it('sees both directions, and padding is invisible to the real tokens', async () => {
    await useBackend('cpu');
    const model = buildBert(tiny(), mlmInfo(6, 9, 0), 6);
    tf.tidy(() => {
      const logitsOf = (ids: number[]) =>
        model
          .predict(model.params.values(), tf.tensor2d([ids], [1, 6], 'int32'))
          .arraySync() as number[][][];
      const a = logitsOf([1, 2, 3, 4, 0, 0]);
      const b = logitsOf([1, 2, 3, 5, 0, 0]);
      // Changing token 3 changes the logits at position 0 (no causal mask).
      expect(Math.abs(a[0]![0]![0]! - b[0]![0]![0]!)).toBeGreaterThan(1e-6);
      // The same four tokens with more or fewer padding keys: the same logits.
      const short = model
        .predict(model.params.values(), tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32'))
        .arraySync() as number[][][];
      for (let t = 0; t < 4; t++)
        short[0]![t]!.forEach((x, v) => expect(x).toBeCloseTo(a[0]![t]![v]!, 5));
    });
    model.dispose();
  });

  it('has BERT’s blocks: Q, K, V, O and both MLP matrices per layer, the head apart', () => {
    const model = buildBert(tiny(), mlmInfo(5, 8), 0);
    expect(model.params.names).toEqual([
      'embed.token',
      'embed.position',
      'embed.norm.gain',
      'embed.norm.bias',
      ...[0, 1].flatMap((l) =>
        [
          'norm1.gain',
          'norm1.bias',
          'attn.query',
          'attn.query.bias',
          'attn.key',
          'attn.key.bias',
          'attn.value',
          'attn.value.bias',
          'attn.output',
          'attn.output.bias',
          'norm2.gain',
          'norm2.bias',
          'mlp.in',
          'mlp.in.bias',
          'mlp.out',
          'mlp.out.bias',
        ].map((n) => `layers.${l}.${n}`),
      ),
      'head.transform',
      'head.transform.bias',
      'head.norm.gain',
      'head.norm.bias',
      'head.decoder.bias',
    ]);
    expect(model.params.size).toBe(parameterCount('bert', tiny(), mlmInfo(5, 8)));
    model.dispose();
    expect(() =>
      buildBert(
        tiny(),
        { task: 'language-modelling', inputShape: [5], targetShape: [5], meta: { vocabulary: 8 } },
        0,
      ),
    ).toThrow(/bert needs a masked-language-modelling dataset/);
  });
});
