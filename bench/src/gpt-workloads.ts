/**
 * gpt-hvp, gpt-hvp-3m and gpt-slq, as bench/reference/pytorch_workloads.py defines them: the
 * softmax GPT (vocabulary 64; gpt-hvp and gpt-slq: 2 layers, width 64, 4 heads, 32 tokens,
 * 110,400 parameters; gpt-hvp-3m: 4 layers, width 256, 4 heads, 64 tokens, 3,208,768
 * parameters), a batch of 16 random sequences, next-token cross-entropy. gpt-hvp: one
 * Hessian-vector product over all parameters, from a host vector to a host vector. gpt-slq:
 * SLQ with 4 probes of 32 Lanczos steps and full reorthogonalisation, and the eigendecomposition
 * of each tridiagonal matrix.
 */
import { hessianOperator, slqQuadratures } from '@tdx/analysis';
import { buildGpt, gptConfig } from '@tdx/models';
import { hvpFlat, Rng, tf } from '@tdx/tensor';
import { kernelCount, medianMs } from './timing.js';

export interface GptSize {
  width: number;
  layers: number;
  tokens: number;
}

export const GPT_SMALL: GptSize = { width: 64, layers: 2, tokens: 32 };
export const GPT_3M: GptSize = { width: 256, layers: 4, tokens: 64 };

function setup(size: GptSize = GPT_SMALL) {
  const [V, T, B] = [64, size.tokens, 16];
  const model = buildGpt(
    gptConfig.parse({ width: size.width, layers: size.layers, heads: 4 }),
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

export async function gptHvp(
  size: GptSize = GPT_SMALL,
  repeats = 20,
): Promise<{ median_ms: number; params: number; kernels: number }> {
  const { model, batch, rng, dispose } = setup(size);
  const v = rng.normalArray(model.params.size);
  const loss = (values: Parameters<typeof model.loss>[0]) => model.loss(values, batch);
  const median = medianMs(() => hvpFlat(loss, model.params, v), repeats);
  const kernels = await kernelCount(() => hvpFlat(loss, model.params, v));
  const params = model.params.size;
  dispose();
  return { median_ms: median, params, kernels };
}

export function gptSlq(
  probes = 4,
  steps = 32,
): Promise<{ median_ms: number; params: number; probes: number; steps: number }> {
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
  return Promise.resolve({ median_ms: median, params, probes, steps });
}
