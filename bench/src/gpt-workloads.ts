/**
 * gpt-hvp and gpt-slq, as ../shared/reference/pytorch_workloads.py defines them: the 2-layer
 * softmax GPT (vocabulary 64, 32 tokens, width 64, 4 heads), a batch of 16 random sequences,
 * next-token cross-entropy. gpt-hvp: one Hessian-vector product over all parameters, from a host
 * vector to a host vector. gpt-slq: SLQ with 4 probes of 32 Lanczos steps and full
 * reorthogonalisation, and the eigendecomposition of each tridiagonal matrix.
 */
import { hessianOperator, slqQuadratures } from '@tdx/analysis';
import { buildGpt, gptConfig } from '@tdx/models';
import { hvpFlat, Rng, tf } from '@tdx/tensor';
import { medianMs } from './timing.js';

function setup() {
  const [V, T, B] = [64, 32, 16];
  const model = buildGpt(
    gptConfig.parse({}),
    { task: 'language-modelling', inputShape: [T], targetShape: [T], meta: { vocabulary: V } },
    0,
  );
  const rng = new Rng(0);
  const idx = Int32Array.from({ length: B * (T + 1) }, () => rng.int(V));
  const batch = tf.tidy(() => {
    const all = tf.tensor2d(idx, [B, T + 1], 'int32');
    return {
      inputs: tf.keep(tf.slice(all, [0, 0], [B, T])),
      targets: tf.keep(tf.slice(all, [0, 1], [B, T])),
    };
  });
  const dispose = () => {
    model.dispose();
    tf.dispose([batch.inputs, batch.targets]);
  };
  return { model, batch, rng, dispose };
}

export function gptHvp(): { median_ms: number; params: number } {
  const { model, batch, rng, dispose } = setup();
  const v = rng.normalArray(model.params.size);
  const loss = (values: Parameters<typeof model.loss>[0]) => model.loss(values, batch);
  const median = medianMs(() => hvpFlat(loss, model.params, v), 20);
  const params = model.params.size;
  dispose();
  return { median_ms: median, params };
}

export function gptSlq(
  probes = 4,
  steps = 32,
): { median_ms: number; params: number; probes: number; steps: number } {
  const { model, batch, dispose } = setup();
  const op = hessianOperator((b) => (values) => model.loss(values, b), model.params, [batch]);
  const median = medianMs(
    () =>
      slqQuadratures(
        op.apply,
        op.dimension,
        { probes, steps, start: 'gaussian', reorthogonalize: true },
        1,
      ),
    3,
    1,
  );
  const params = model.params.size;
  dispose();
  return { median_ms: median, params, probes, steps };
}
