/**
 * The gradient's L2 norm at the current parameters, over the trainable blocks, and per block:
 * the convergence measure of the quadratic study (log ‖∇ℓ‖ against iteration). The loss is that
 * of the analysis batch (the dataset's evaluation batch, else the current training batch).
 */
import { definePlugin, z, type AnalysisInstance, type AnalysisOutput } from '@tdx/core';
import { tf, valueAndGrad, type AnalysisTarget } from '@tdx/tensor';

export const gradientNormConfig = z.object({
  perBlock: z.boolean().default(true).describe("Also record each block's norm."),
});

export function gradientNorm(
  target: AnalysisTarget,
  config: z.output<typeof gradientNormConfig>,
): AnalysisOutput & { value: number } {
  const trainable = target.params.trainable();
  const loss = target.lossOn(target.analysisBatch());
  const squares = tf.tidy(() => {
    const { grads } = valueAndGrad(loss, target.params, { wrt: trainable });
    return trainable.blocks.map((b) => tf.sum(tf.square(grads[b.name]!)).dataSync()[0]!);
  });
  const blocks = Object.fromEntries(
    trainable.blocks.map((b, i) => [b.name, Math.sqrt(squares[i]!)]),
  );
  return {
    value: Math.sqrt(squares.reduce((sum, s) => sum + s, 0)),
    data: config.perBlock ? { blocks } : {},
  };
}

export const gradientNormPlugin = definePlugin({
  kind: 'analysis',
  name: 'gradient-norm',
  title: 'gradient norm ‖∇L‖',
  description: "the loss gradient's L2 norm over the trainable blocks, and per block",
  config: gradientNormConfig,
  create: (config): AnalysisInstance => ({
    run: (target) => gradientNorm(target, config),
  }),
});
