/**
 * The Hessian diagonal and R_med on the small tanh network, against two references: the
 * diagonal of the dense Hessian (denseMatrix, column by column), and the diagonal in closed
 * form, computed in float64 on the host from the network's formula (independent of autodiff).
 * Hutchinson's estimate is checked against its known error: E‖d̂ − d‖² = Σ_i Σ_{j≠i} H_ij² / P.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type AnalysisInstance } from '@tdx/core';
import { tf, useBackend, exactnessBackends } from '@tdx/tensor';
import { denseMatrix, hessianOperator, type CurvatureOperator } from '../src/index.js';
import {
  exactHessianDiagonal,
  hessianDiagonal,
  hutchinsonHessianDiagonal,
} from '../src/curvature/hessian-diagonal.js';
import { robustConditionNumberPlugin } from '../src/plugins/robust-condition-number.js';
import { smallNetwork } from './small-network.js';

/**
 * diag(H) of L = mean_{n,c} (tanh(XW + b)V − Y)²_{nc} over [W (4×6), b (6), V (6×2)], in
 * float64. With a = tanh z, r = aV − Y, m = 16·2 entries:
 *   ∂²L/∂V_kc² = (2/m) Σ_n a_nk²
 *   ∂²L/∂b_k²  = (2/m) Σ_{n,c} [(V_kc a'_nk)² + r_nc V_kc a''_nk]
 *   ∂²L/∂W_jk² = (2/m) Σ_{n,c} X_nj² [(V_kc a'_nk)² + r_nc V_kc a''_nk]
 * where a' = 1 − a², a'' = −2 a a'.
 */
function closedFormDiagonal(net: ReturnType<typeof smallNetwork>): Float64Array {
  const X = net.evalBatch.inputs.dataSync();
  const Y = net.evalBatch.targets.dataSync();
  const W = net.params.block('layer.weight').variable.dataSync();
  const b = net.params.block('layer.bias').variable.dataSync();
  const V = net.params.block('head.weight').variable.dataSync();
  const [N, D, K, C] = [16, 4, 6, 2];
  const m = N * C;
  const a = new Float64Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      let z = b[k]!;
      for (let j = 0; j < D; j++) z += X[n * D + j]! * W[j * K + k]!;
      a[n * K + k] = Math.tanh(z);
    }
  const r = new Float64Array(N * C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      let o = 0;
      for (let k = 0; k < K; k++) o += a[n * K + k]! * V[k * C + c]!;
      r[n * C + c] = o - Y[n * C + c]!;
    }
  // q[n][k] = Σ_c (V_kc a'_nk)² + r_nc V_kc a''_nk: the curvature of L in z_nk, times m/2.
  const q = new Float64Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const t = a[n * K + k]!;
      const d1 = 1 - t * t;
      const d2 = -2 * t * d1;
      for (let c = 0; c < C; c++) {
        const v = V[k * C + c]!;
        q[n * K + k]! += (v * d1) ** 2 + r[n * C + c]! * v * d2;
      }
    }
  const out: number[] = [];
  for (let j = 0; j < D; j++)
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += X[n * D + j]! ** 2 * q[n * K + k]!;
      out.push((2 / m) * s);
    }
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let n = 0; n < N; n++) s += q[n * K + k]!;
    out.push((2 / m) * s);
  }
  for (let k = 0; k < K; k++)
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += a[n * K + k]! ** 2;
      out.push((2 / m) * s);
    }
  return Float64Array.from(out);
}

/** max |d_i| / median |d_i|, the median as torch.median takes it (the lower middle value). */
function rMed(diagonal: ArrayLike<number>): number {
  const abs = Array.from(diagonal, Math.abs).sort((x, y) => x - y);
  return abs[abs.length - 1]! / abs[Math.floor((abs.length - 1) / 2)]!;
}

const maxAbs = (v: ArrayLike<number>) => Math.max(...Array.from(v, Math.abs));

for (const backend of exactnessBackends()) {
  describe(`robust condition number on a small network [${backend}]`, () => {
    let net: ReturnType<typeof smallNetwork>;
    let op: CurvatureOperator;
    let dense: Float64Array[];
    let denseDiagonal: Float64Array;
    let closedForm: Float64Array;
    const analysis = (config: Record<string, unknown>) =>
      createRegistry()
        .register(robustConditionNumberPlugin)
        .create<AnalysisInstance>('analysis', { name: 'robust-condition-number', ...config });

    beforeAll(async () => {
      await useBackend(backend);
      net = smallNetwork(1);
      op = hessianOperator(net.lossOn, net.params, [net.evalBatch]);
      dense = denseMatrix(op);
      denseDiagonal = Float64Array.from(dense, (column, i) => column[i]!);
      closedForm = closedFormDiagonal(net);
    });
    afterAll(() => net.dispose());

    it('the exact diagonal is the dense Hessian’s, and the closed form’s', () => {
      const exact = exactHessianDiagonal(op);
      expect(exact).toHaveLength(42);
      // The same products as denseMatrix: the same numbers, to float32 rounding.
      for (let i = 0; i < 42; i++)
        expect(Math.abs(exact[i]! - denseDiagonal[i]!)).toBeLessThan(1e-6 * maxAbs(denseDiagonal));
      // Float32 autodiff against float64 algebra: agreement to 1e-5 of the largest entry.
      for (let i = 0; i < 42; i++)
        expect(Math.abs(exact[i]! - closedForm[i]!), `H_${i}${i}`).toBeLessThan(
          1e-5 * maxAbs(closedForm),
        );
    });

    it('R_med of the analysis equals R_med of the dense Hessian’s diagonal', async () => {
      const before = tf.memory().numTensors;
      const out = await analysis({}).run(net.target, { step: 0, seed: 1 });
      expect(tf.memory().numTensors).toBe(before);
      expect(out.value).toBeCloseTo(rMed(denseDiagonal), 4);
      expect(Math.abs(out.value! / rMed(closedForm) - 1)).toBeLessThan(1e-4);
      const sorted = Array.from(denseDiagonal, Math.abs).sort((x, y) => x - y);
      expect(out.data).toMatchObject({
        method: 'exact',
        dimension: 42,
        max: expect.closeTo(sorted[41]!, 6),
        median: expect.closeTo(sorted[20]!, 6),
      });
      expect(out.data).not.toHaveProperty('probes');
      (out.data!.diagonal as number[]).forEach((d, i) =>
        expect(d).toBeCloseTo(denseDiagonal[i]!, 6),
      );
      // `exact` says so explicitly; beyond exactLimit it refuses, and `auto` falls back.
      const exact = await analysis({ method: 'exact' }).run(net.target, { step: 0, seed: 1 });
      expect(exact.value).toBe(out.value);
      await expect(
        Promise.resolve().then(() =>
          analysis({ method: 'exact', exactLimit: 10 }).run(net.target, { step: 0, seed: 1 }),
        ),
      ).rejects.toThrow(/more than exactLimit \(10\)/);
      const fallback = await analysis({ exactLimit: 10, probes: 30 }).run(net.target, {
        step: 0,
        seed: 1,
      });
      expect(fallback.data).toMatchObject({ method: 'hutchinson', probes: 30, dimension: 42 });
      expect(fallback.value).toBeGreaterThan(1);
    });

    it('Hutchinson’s diagonal converges to the exact one at the rate its variance predicts', () => {
      // E‖d̂ − d‖² = Σ_i Σ_{j≠i} H_ij² / P: the off-diagonal mass sets the error.
      let offDiagonal = 0;
      dense.forEach((column, j) =>
        column.forEach((h, i) => {
          if (i !== j) offDiagonal += h * h;
        }),
      );
      const dNorm = Math.hypot(...denseDiagonal);
      const errorOf = (probes: number, seed: number) => {
        const { diagonal, standardError } = hutchinsonHessianDiagonal(op, probes, seed);
        const diff = diagonal.map((d, i) => d - denseDiagonal[i]!);
        return { error: Math.hypot(...diff), diff, standardError };
      };
      for (const probes of [50, 2000]) {
        const { error } = errorOf(probes, 3);
        const expected = Math.sqrt(offDiagonal / probes);
        // ‖d̂ − d‖² sums 42 independent-ish terms: well within a factor 2 of its root mean.
        expect(error).toBeLessThan(2 * expected);
        expect(error).toBeGreaterThan(0.3 * expected);
      }
      const many = errorOf(2000, 4);
      // Mean relative error, relative to the typical entry: about 5% with 2000 probes here (the
      // off-diagonal mass is large), against O(1) for an estimator that is wrong.
      const meanAbs = denseDiagonal.reduce((s, d) => s + Math.abs(d), 0) / 42;
      const meanError = many.diff.reduce((s, d) => s + Math.abs(d), 0) / 42;
      expect(meanError / meanAbs).toBeLessThan(0.08);
      expect(many.error / dNorm).toBeLessThan(0.08);
      // The per-entry standard errors describe the actual errors.
      many.diff.forEach((d, i) => expect(Math.abs(d)).toBeLessThan(5 * many.standardError[i]!));
      // `auto` picks the exact diagonal for 42 parameters; Hutchinson when asked.
      expect(hessianDiagonal(op).method).toBe('exact');
      expect(hessianDiagonal(op, { method: 'hutchinson', probes: 3 })).toMatchObject({
        method: 'hutchinson',
        probes: 3,
      });
    });
  });
}
