/**
 * The analysis on the real model against an exact eigendecomposition: the 150 x 150 Hessian of
 * the 3-layer linear Transformer, built column by column from HVPs, eigendecomposed by ml-matrix.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { expect, it } from 'vitest';
import type { AnalysisInstance } from '@tdx/core';
import { createDefaultRegistry } from '@tdx/cli';
import { hvpFlat, startMinibatchSession, useBackend, exactnessBackends } from '@tdx/tensor';

for (const backend of exactnessBackends()) {
  it(`top-hessian-eigenvalue of the linear Transformer equals the dense Hessian's [${backend}]`, async () => {
    await useBackend(backend);
    const registry = createDefaultRegistry();
    const session = startMinibatchSession({
      dataset: registry.create(
        'dataset',
        { name: 'icl-linear-regression', batchSize: 64, evalBatchSize: 64 },

        { seed: 3 },
      ),
      model: registry.create('model', { name: 'linear-transformer', initStd: 0.3 }, { seed: 4 }),
      optimizer: registry.create('optimizer', { name: 'adam', lr: 0.01 }),
      seed: 0,
    });
    for (let t = 0; t < 20; t++) session.step(t);
    const target = session.target();
    const loss = target.lossOn(target.analysisBatch());
    const n = target.params.size;
    expect(n).toBe(150);
    const columns = Array.from({ length: n }, (_, j) => {
      const e = new Float64Array(n);
      e[j] = 1;
      return Array.from(hvpFlat(loss, target.params, e));
    });
    const H = new Matrix(columns);
    // ml-matrix's instance add/sub work in place; the static ones return new matrices.
    const asymmetry = Matrix.sub(H, H.transpose()).norm('frobenius') / H.norm('frobenius');
    expect(asymmetry).toBeLessThan(1e-5);
    const eigenvalues = new EigenvalueDecomposition(H.add(H.transpose()).div(2), {
      assumeSymmetric: true,
    }).realEigenvalues;
    const dominant = eigenvalues.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);

    const analysis = registry.create<AnalysisInstance>('analysis', {
      name: 'top-hessian-eigenvalue',
      tolerance: 1e-8,
      maxIterations: 2000,
    });
    const out = await analysis.run(target, { step: 20, seed: 5 });
    expect(out.data).toMatchObject({ converged: true });
    expect(Math.abs(out.value! - dominant)).toBeLessThan(1e-4 * Math.abs(dominant));
    session.dispose();
  });
}
