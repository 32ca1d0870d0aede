/**
 * A batch made on first use and kept until disposed: a dataset's fixed evaluation batch. Its
 * tensors are kept out of any enclosing tf.tidy, since callers use it across steps.
 */
import { tf, type Batch } from '@tdx/tensor';

export function cachedBatch(make: () => Batch): { get: () => Batch; dispose: () => void } {
  let batch: Batch | undefined;
  return {
    get: () => {
      if (!batch) {
        batch = make();
        tf.keep(batch.inputs);
        tf.keep(batch.targets);
      }
      return batch;
    },
    dispose: () => {
      if (batch) tf.dispose([batch.inputs, batch.targets]);
      batch = undefined;
    },
  };
}
