import { Rng, tf, type Batch, type DatasetInfo } from '@tdx/tensor';

/** In-context regression prompts, built here rather than imported: models never import datasets. */
export function iclBatch(
  seed: number,
  batch: number,
  d: number,
  n: number,
): { batch: Batch; info: DatasetInfo; z: number[][][]; y: number[] } {
  const rng = new Rng(seed);
  const z: number[][][] = [];
  const y: number[] = [];
  for (let b = 0; b < batch; b++) {
    const w = Array.from(rng.normalArray(d));
    const rows: number[][] = [];
    for (let i = 0; i <= n; i++) {
      const x = Array.from(rng.normalArray(d));
      const label = x.reduce((s, v, k) => s + v * w[k]!, 0);
      rows.push([...x, i < n ? label : 0]);
      if (i === n) y.push(label);
    }
    z.push(rows);
  }
  return {
    batch: { inputs: tf.tensor3d(z.flat(2), [batch, n + 1, d + 1]), targets: tf.tensor1d(y) },
    info: {
      task: 'icl-linear-regression',
      inputShape: [n + 1, d + 1],
      targetShape: [],
      meta: { d, n },
    },
    z,
    y,
  };
}
