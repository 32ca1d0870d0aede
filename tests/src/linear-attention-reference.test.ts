/**
 * The one-layer linear Transformer (sparse) is linear in Q: on prompt b its prediction is
 * −Z[d, n] = −(1/n) Σ_i y_i x_iᵀ Q x_q = <A_b, Q>, A_b = −(1/n) Σ_i y_i x_i x_qᵀ, and P does not
 * reach the output. So the loss mean_b (<A_b, Q> − y_b)² has the Hessian 0 on P and
 * (2/B) Σ_b vec(A_b) vec(A_b)ᵀ on Q, at every point. The dense Hessian from HVPs must equal
 * it, and the robust condition number of its diagonal must equal the analysis's.
 */
import { Matrix } from 'ml-matrix';
import { expect, it } from 'vitest';
import type { AnalysisInstance } from '@tdx/core';
import { createDefaultRegistry } from '@tdx/cli';
import { hvpFlat, startMinibatchSession, useBackend, exactnessBackends } from '@tdx/tensor';

const [d, n, B] = [3, 6, 40];

for (const backend of exactnessBackends()) {
  it(`the one-layer model's dense Hessian equals its closed form, and R_med its diagonal's [${backend}]`, async () => {
    await useBackend(backend);
    const registry = createDefaultRegistry();
    const session = startMinibatchSession({
      dataset: registry.create(
        'dataset',
        { name: 'icl-linear-regression', d, n, batchSize: B, evalBatchSize: B },
        { seed: 11 },
      ),
      model: registry.create(
        'model',
        { name: 'linear-transformer', layers: 1, initStd: 0.4 },
        { seed: 12 },
      ),
      optimizer: registry.create('optimizer', { name: 'sgd', lr: 0.01 }),
      seed: 0,
    });
    for (let t = 0; t < 5; t++) session.step(t);
    const target = session.target();
    const batch = target.analysisBatch();
    const tokens = batch.inputs.arraySync() as number[][][];
    const labels = batch.targets.arraySync() as number[];
    const Q = target.params.block('layers.0.heads.0.Q').variable.arraySync() as number[][];

    // A_b on the host, in float64, and the loss it predicts.
    const A = tokens.map((rows) => {
      const xq = rows[n]!.slice(0, d);
      const a = new Float64Array(d * d);
      for (let i = 0; i < n; i++) {
        const y = rows[i]![d]!;
        for (let r = 0; r < d; r++)
          for (let c = 0; c < d; c++) a[r * d + c]! -= (y * rows[i]![r]! * xq[c]!) / n;
      }
      return a;
    });
    const predictions = A.map((a) => Q.flat().reduce((s, q, k) => s + q * a[k]!, 0));
    const hostLoss = predictions.reduce((s, p, b) => s + (p - labels[b]!) ** 2, 0) / B;
    const loss = target.lossOn(batch);
    expect(loss(target.params.values()).dataSync()[0]).toBeCloseTo(hostLoss, 4);

    const names = target.params.names;
    expect(names).toEqual(['layers.0.heads.0.P', 'layers.0.heads.0.Q']);
    const size = target.params.size;
    const dense = new Matrix(
      Array.from({ length: size }, (_, j) => {
        const e = new Float64Array(size);
        e[j] = 1;
        return Array.from(hvpFlat(loss, target.params, e));
      }),
    );
    const closed = Matrix.zeros(size, size);
    for (const a of A)
      for (let r = 0; r < d * d; r++)
        for (let c = 0; c < d * d; c++)
          closed.set(
            d * d + r,
            d * d + c,
            closed.get(d * d + r, d * d + c) + (2 / B) * a[r]! * a[c]!,
          );
    const scale = closed.max();
    expect(Matrix.sub(dense, closed).abs().max()).toBeLessThan(1e-4 * scale);

    // R_med over the trainable Q (P's diagonal is 0, which would make the median 0).
    target.params.freeze({ role: 'value' });
    const diagonal = Array.from({ length: d * d }, (_, i) =>
      Math.abs(closed.get(d * d + i, d * d + i)),
    );
    const sorted = [...diagonal].sort((x, y) => x - y);
    const expected = sorted.at(-1)! / sorted[Math.floor((sorted.length - 1) / 2)]!;
    const analysis = registry.create<AnalysisInstance>('analysis', {
      name: 'robust-condition-number',
      method: 'exact',
    });
    const out = await analysis.run(target, { step: 5, seed: 0 });
    expect(out.data).toMatchObject({ method: 'exact', dimension: d * d });
    expect(out.value!).toBeGreaterThan(1);
    expect(Math.abs(out.value! - expected)).toBeLessThan(1e-4 * expected);
    session.dispose();
  });
}
