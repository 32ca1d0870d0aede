import { mapValues, tf, type GradientTransformation } from '@tdx/tensor';
import { asSchedule, type Schedule } from '../schedule.js';

/**
 * updates <- -lr(step) * updates: turns a direction into a descent step. It keeps the training
 * time tau = Σ lr(s) over the steps taken, the time of the gradient flow that gradient descent
 * discretises, so runs with different learning rates compare at equal tau.
 */
export function scaleByLearningRate(
  learningRate: number | Schedule,
): GradientTransformation<{ count: number; time?: number }> {
  const lr = asSchedule(learningRate);
  return {
    init: () => ({ count: 0, time: 0 }),
    update: (updates, state) => {
      const rate = lr(state.count);
      return {
        updates: mapValues(updates, (u) => tf.mul(u, -rate)),
        // A checkpoint from before tau was kept has no time: it restarts from 0 then.
        state: { count: state.count + 1, time: (state.time ?? 0) + rate },
      };
    },
    metrics: (state) => ({ tau: state.time ?? 0, lr: lr(state.count) }),
  };
}
