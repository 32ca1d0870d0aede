/**
 * Learning-rate schedules: functions of the step t, 0 for the first update. `scaleByLearningRate`
 * counts t in its state (`{ count }`), so a run restored from a checkpoint continues its schedule.
 *
 * `lr` is always the peak rate. Warmup convention (every schedule with `warmupSteps` W > 0): the
 * update t < W uses lr·(t+1)/W, so the first update uses lr/W and update W−1 the full lr; this is
 * Vaswani et al. (2017, eq. 3) with their step_num = t+1. optax's warmup (`linear_schedule` from
 * init_value 0) is the same ramp one step later: its first update uses 0 and it reaches lr at
 * t = W. From t = W on, the decays below are optax's and PyTorch's exactly. W = 1 is one update at
 * lr (a decay then starts at t = 1, as in optax).
 */
import { TdxError } from '@tdx/core';

export type Schedule = (step: number) => number;

export const constantSchedule =
  (value: number): Schedule =>
  () =>
    value;

/** A number or a schedule, as a schedule. */
export function asSchedule(value: number | Schedule): Schedule {
  return typeof value === 'number' ? constantSchedule(value) : value;
}

function requireInteger(what: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min)
    throw new TdxError('INVALID_ARGUMENT', `${what} must be an integer >= ${min}, got ${value}`);
}

function requireInRange(what: string, value: number, low: number, high: number): void {
  if (!(value >= low && value <= high))
    throw new TdxError('INVALID_ARGUMENT', `${what} must be in [${low}, ${high}], got ${value}`);
}

/** The warmup multiplier of update t: min(1, (t+1)/W), 1 when W <= 1. */
export function warmupFactor(step: number, warmupSteps: number): number {
  return warmupSteps <= 1 ? 1 : Math.min(1, (step + 1) / warmupSteps);
}

/** lr·min(1, (t+1)/W): optax.warmup_constant_schedule, one step earlier (see the file comment). */
export function linearWarmupSchedule(lr: number, options: { warmupSteps: number }): Schedule {
  requireInteger('linear-warmup: warmupSteps', options.warmupSteps, 1);
  return (step) => lr * warmupFactor(step, options.warmupSteps);
}

export interface DecayOptions {
  /** Linear warmup over the first W updates (0: none). */
  warmupSteps?: number;
  /** D: the whole schedule's length, warmup included (as optax); the decay runs from t = W to D. */
  decaySteps: number;
  /** The floor, as a fraction of lr, reached at t = D and kept after it (0). */
  minFactor?: number;
}

/** The warmup, then lr·(m + (1 − m)·shape(p)) with p = min(1, (t − W)/(D − W)). */
function decaySchedule(
  what: string,
  lr: number,
  options: DecayOptions,
  shape: (progress: number) => number,
): Schedule {
  const { warmupSteps = 0, decaySteps, minFactor = 0 } = options;
  requireInteger(`${what}: warmupSteps`, warmupSteps, 0);
  requireInteger(`${what}: decaySteps`, decaySteps, 1);
  requireInRange(`${what}: minFactor`, minFactor, 0, 1);
  if (warmupSteps >= decaySteps)
    throw new TdxError(
      'INVALID_ARGUMENT',
      `${what}: warmupSteps (${warmupSteps}) must be < decaySteps (${decaySteps}), which includes the warmup`,
    );
  return (step) => {
    if (step < warmupSteps) return lr * warmupFactor(step, warmupSteps);
    const progress = Math.min(1, (step - warmupSteps) / (decaySteps - warmupSteps));
    return lr * (minFactor + (1 - minFactor) * shape(progress));
  };
}

/**
 * Cosine decay from lr to minFactor·lr: optax.warmup_cosine_decay_schedule (end_value =
 * minFactor·lr, decay_steps = D); without warmup, torch.optim.lr_scheduler.CosineAnnealingLR
 * (T_max = D, eta_min = minFactor·lr) before its first restart, i.e. optax.cosine_decay_schedule.
 */
export function cosineDecaySchedule(lr: number, options: DecayOptions): Schedule {
  return decaySchedule('cosine', lr, options, (p) => 0.5 * (1 + Math.cos(Math.PI * p)));
}

/**
 * Linear decay from lr to minFactor·lr: optax.linear_schedule(lr, minFactor·lr, D − W,
 * transition_begin = W) after the warmup; without warmup torch.optim.lr_scheduler.LinearLR
 * (start_factor = 1, end_factor = minFactor, total_iters = D).
 */
export function linearDecaySchedule(lr: number, options: DecayOptions): Schedule {
  return decaySchedule('linear', lr, options, (p) => 1 - p);
}

/**
 * lr·gamma^⌊t/every⌋: torch.optim.lr_scheduler.StepLR(step_size = every, gamma) stepped after
 * every update, and optax.exponential_decay(lr, every, gamma, staircase = True).
 */
export function stepDecaySchedule(
  lr: number,
  options: { every: number; gamma?: number },
): Schedule {
  const { every, gamma = 0.1 } = options;
  requireInteger('step: every', every, 1);
  if (!(gamma > 0 && gamma <= 1))
    throw new TdxError('INVALID_ARGUMENT', `step: gamma must be in (0, 1], got ${gamma}`);
  return (step) => lr * gamma ** Math.floor(step / every);
}

/**
 * lr·min((t+1)/W, √(W/(t+1))): Vaswani et al. (2017, eq. 3) with step_num = t+1, rescaled so that
 * its peak (update W−1) is lr: the shape of fairseq's `inverse_sqrt` (lr·√W/√n after the warmup).
 * With W <= 1 it is lr/√(t+1).
 */
export function inverseSqrtSchedule(lr: number, options: { warmupSteps?: number } = {}): Schedule {
  const { warmupSteps = 0 } = options;
  requireInteger('inverse-sqrt: warmupSteps', warmupSteps, 0);
  const w = Math.max(1, warmupSteps);
  return (step) => lr * Math.min((step + 1) / w, Math.sqrt(w / (step + 1)));
}
