import { mapValues, tf, type GradientTransformation } from '@tdx/tensor';
import { asSchedule, type Schedule } from '../schedule.js';

/** updates <- -lr(step) * updates: turns a direction into a descent step. */
export function scaleByLearningRate(
  learningRate: number | Schedule,
): GradientTransformation<{ count: number }> {
  const lr = asSchedule(learningRate);
  return {
    init: () => ({ count: 0 }),
    update: (updates, state) => {
      const scale = -lr(state.count);
      return {
        updates: mapValues(updates, (u) => tf.mul(u, scale)),
        state: { count: state.count + 1 },
      };
    },
  };
}
