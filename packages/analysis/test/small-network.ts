/**
 * A small tanh network (4 -> 6 -> 2, squared error) as an AnalysisTarget: big enough for
 * distinct blocks, small enough for its dense Hessian. Batches depend only on the seed.
 */
import {
  ParamSet,
  Rng,
  tf,
  type AnalysisTarget,
  type Batch,
  type LossFunction,
  type Scalar,
} from '@tdx/tensor';

export function smallNetwork(seed: number) {
  const rng = new Rng(seed);
  const params = ParamSet.create([
    {
      name: 'layer.weight',
      role: 'mlp',
      layer: 0,
      init: { values: rng.normalArray(24, 0, 0.6), shape: [4, 6] },
    },
    {
      name: 'layer.bias',
      role: 'bias',
      layer: 0,
      init: { values: rng.normalArray(6, 0, 0.1), shape: [6] },
    },
    {
      name: 'head.weight',
      role: 'head',
      init: { values: rng.normalArray(12, 0, 0.6), shape: [6, 2] },
    },
  ]);
  const batch = (s: number): Batch => {
    const r = new Rng(seed * 100 + s + 1000);
    return { inputs: r.normalTensor([16, 4]), targets: r.normalTensor([16, 2]) };
  };
  const lossOn =
    (b: Batch): LossFunction =>
    (p) =>
      tf.tidy(
        () =>
          tf.mean(
            tf.square(
              tf.sub(
                tf.matMul(
                  tf.tanh(tf.add(tf.matMul(b.inputs, p['layer.weight']!), p['layer.bias']!)),
                  p['head.weight']!,
                ),
                b.targets,
              ),
            ),
          ) as Scalar,
      );
  const evalBatch = batch(0);
  const extra: Batch[] = [];
  const target = {
    params,
    lossOn,
    analysisBatch: () => evalBatch,
    dataset: { batch: (s: number) => (extra.push(batch(s)), extra.at(-1)!) },
    step: 0,
  } as unknown as AnalysisTarget;
  return {
    params,
    lossOn,
    batch,
    evalBatch,
    target,
    dispose: () => (params.dispose(), tf.dispose([evalBatch.inputs, evalBatch.targets])),
  };
}
