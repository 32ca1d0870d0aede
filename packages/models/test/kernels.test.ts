import { describe, expect, it } from 'vitest';
import { createRegistry, TdxError } from '@tdx/core';
import {
  Rng,
  tf,
  useBackend,
  type AttentionKernel,
  type ModelBuilder,
  exactnessBackends,
} from '@tdx/tensor';
import {
  buildGpt,
  buildVit,
  gaussianKernel,
  gptConfig,
  linearKernel,
  register,
  softmaxKernel,
  vitConfig,
} from '../src/index.js';
import { expectExactHvp, imageInfo, images, lmInfo, tokens } from './support/checks.js';

type Matrix = number[][];

const dotH = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const sq = (a: number[]) => dotH(a, a);

/** Random rows [T, d] and the kernel's weights for them, read back as float32 numbers. */
function weightsOf(kernel: AttentionKernel, q: Matrix, k: Matrix, allowed?: Matrix): Matrix {
  return tf.tidy(() => {
    const d = q[0]!.length;
    const w = kernel.weights(
      tf.tensor4d(q.flat(), [1, 1, q.length, d]),
      tf.tensor4d(k.flat(), [1, 1, k.length, d]),

      allowed ? tf.tensor2d(allowed) : undefined,
    );
    return (w.arraySync() as number[][][][])[0]![0]!;
  });
}

function rows(rng: Rng, count: number, d: number, std = 0.7): Matrix {
  return Array.from({ length: count }, () => Array.from(rng.normalArray(d, 0, std)));
}

const causal = (T: number): Matrix =>
  Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i ? 1 : 0)));

const KERNELS: Record<string, AttentionKernel> = {
  softmax: softmaxKernel({}),
  gaussian: gaussianKernel({ normalize: false }),
  'gaussian (row-normalised)': gaussianKernel({ normalize: true }),
  linear: linearKernel({}),
};

for (const backend of exactnessBackends()) {
  describe(`attention kernels [${backend}]`, () => {
    it('satisfy exp(qᵀk/√p) = e^{|q|²/2√p} · gaussian(q, k) · e^{|k|²/2√p}', async () => {
      await useBackend(backend);
      const rng = new Rng(3);
      const [T, p] = [5, 4];
      const q = rows(rng, T, p);
      const k = rows(rng, T, p);
      const s = Math.sqrt(p);
      const gaussian = weightsOf(gaussianKernel({ normalize: false }), q, k);
      for (let i = 0; i < T; i++)
        for (let j = 0; j < T; j++) {
          const rebuilt =
            Math.exp(sq(q[i]!) / (2 * s)) * gaussian[i]![j]! * Math.exp(sq(k[j]!) / (2 * s));
          const direct = Math.exp(dotH(q[i]!, k[j]!) / s);
          expect(Math.abs(rebuilt - direct) / direct).toBeLessThan(2e-6);
        }
      // Hence softmax is the Gaussian kernel reweighted by e^{|k|²/2√p} and row-normalised.
      const softmax = weightsOf(softmaxKernel({}), q, k);
      for (let i = 0; i < T; i++) {
        const reweighted = gaussian[i]!.map((g, j) => g * Math.exp(sq(k[j]!) / (2 * s)));
        const total = reweighted.reduce((a, b) => a + b, 0);
        reweighted.forEach((r, j) => expect(softmax[i]![j]!).toBeCloseTo(r / total, 6));
      }
    });

    it('match float64 references, with a scale and a causal mask (masked weights exactly 0)', async () => {
      await useBackend(backend);
      const rng = new Rng(4);
      const [T, p, scale] = [4, 3, 1.7];
      const q = rows(rng, T, p);
      const k = rows(rng, T, p);
      const mask = causal(T);
      const reference: Record<string, (i: number, j: number) => number> = {
        softmax: (i, j) => Math.exp(dotH(q[i]!, k[j]!) / scale),
        gaussian: (i, j) => Math.exp(-sq(q[i]!.map((x, c) => x - k[j]![c]!)) / (2 * scale)),
        linear: (i, j) => dotH(q[i]!, k[j]!) / scale,
      };
      const cases: Array<[AttentionKernel, (i: number, j: number) => number, boolean]> = [
        [softmaxKernel({ scale }), reference.softmax!, true],
        [gaussianKernel({ scale, normalize: false }), reference.gaussian!, false],
        [gaussianKernel({ scale, normalize: true }), reference.gaussian!, true],
        [linearKernel({ scale }), reference.linear!, false],
      ];
      for (const [kernel, raw, normalised] of cases) {
        const w = weightsOf(kernel, q, k, mask);
        for (let i = 0; i < T; i++) {
          const row = Array.from({ length: T }, (_, j) => (mask[i]![j] ? raw(i, j) : 0));
          const total = normalised ? row.reduce((a, b) => a + b, 0) : 1;
          row.forEach((r, j) => {
            if (!mask[i]![j])
              expect(w[i]![j] === 0).toBe(true); // 0 or -0
            else expect(w[i]![j]!).toBeCloseTo(r / total, 5);
          });
        }
      }
    });

    for (const [name, kernel] of Object.entries(KERNELS)) {
      it(`${name}: exact Hessian-vector products in a causal gpt and a vit`, async () => {
        await useBackend(backend);
        const gpt = buildGpt(
          gptConfig.parse({ layers: 1, width: 8, heads: 2, mlpRatio: 2, initStd: 0.3 }),
          lmInfo(5, 7),
          3,
          kernel,
        );
        const text = tokens(2, 3, 5, 7);
        await expectExactHvp(gpt, text);
        await expectExactHvp(gpt, text, { wrt: gpt.params.select({ role: 'query' }) });
        gpt.dispose();
        tf.dispose([text.inputs, text.targets]);
        const vit = buildVit(
          vitConfig.parse({ patch: 2, width: 8, heads: 2, layers: 1, mlpRatio: 2, initStd: 0.3 }),
          imageInfo(4, 3),
          1,
          kernel,
        );
        const pictures = images(2, 3, 4, 3);
        await expectExactHvp(vit, pictures);
        vit.dispose();
        tf.dispose([pictures.inputs, pictures.targets]);
      });
    }
  });
}

describe('attention kernels through the registry', () => {
  const registry = register(createRegistry());

  it('are listed as attention-kernel plugins', () => {
    expect(registry.names('attention-kernel')).toEqual(
      expect.arrayContaining(['softmax', 'gaussian', 'linear']),
    );
  });

  it('resolve inside a model config, with the kernel defaults filled in', () => {
    const resolved = registry.resolve(
      'model',
      { name: 'gpt', attention: { name: 'gaussian', normalize: true } },
      'model',
    );
    expect((resolved.config as { attention: unknown }).attention).toEqual({
      name: 'gaussian',
      label: 'gaussian',
      normalize: true,
    });
    expect(
      (registry.resolve('model', { name: 'vit' }, 'model').config as { attention: unknown })
        .attention,
    ).toEqual({ name: 'softmax', label: 'softmax' });
  });

  it('report a bad kernel name or option at its full path', () => {
    const problems = registry.check(
      'model',
      { name: 'gpt', attention: { name: 'gausian', scale: -1 } },
      'models[1]',
    ).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: 'models[1].attention.name' });
    expect(problems[0]!.hint).toContain('gaussian');
    const scale = registry.check(
      'model',
      { name: 'vit', attention: { name: 'gaussian', scale: -1, width: 3 } },
      'model',
    ).problems;
    expect(scale.map((p) => p.path).sort()).toEqual([
      'model.attention.scale',
      'model.attention.width',
    ]);
  });

  it('build the named kernel: a gaussian gpt differs from the softmax one at the same seed', async () => {
    await useBackend('cpu');
    const build = (attention: unknown) =>
      registry
        .create<ModelBuilder>('model', { name: 'gpt', width: 8, heads: 2, layers: 1, attention })
        .build(lmInfo(4, 5));
    const softmax = build('softmax');
    const gaussian = build({ name: 'gaussian' });
    const batch = tokens(1, 2, 4, 5);
    const [a, b] = [softmax, gaussian].map((m) =>
      tf.tidy(() => m.loss(m.params.values(), batch).dataSync()[0]!),
    );
    expect(a).not.toBeCloseTo(b!, 6);
    softmax.dispose();
    gaussian.dispose();
    tf.dispose([batch.inputs, batch.targets]);
    expect(() => registry.create('model', { name: 'gpt', attention: 'cosine' })).toThrow(TdxError);
  });
});
