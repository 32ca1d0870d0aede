/**
 * Learning-rate schedules in specs: the `schedule` key of the `sgd` and `adam` configs, e.g.
 * `{ name: cosine, warmupSteps: 100, decaySteps: 2000 }`. The optimizer's `lr` is the peak rate;
 * no `schedule` is a constant lr.
 */
import { choicesHint, z } from '@tdx/core';
import {
  constantSchedule,
  cosineDecaySchedule,
  inverseSqrtSchedule,
  linearDecaySchedule,
  linearWarmupSchedule,
  stepDecaySchedule,
  type Schedule,
} from './schedule.js';

const warmupSteps = z.number().int().min(0).default(0);
const decayFields = {
  warmupSteps: warmupSteps.describe('Linear warmup over the first warmupSteps updates (0: none).'),
  decaySteps: z
    .number()
    .int()
    .min(1)
    .describe(
      "The whole schedule's length, warmup included (as optax); the floor is reached there.",
    ),
  minFactor: z.number().min(0).max(1).default(0).describe('The floor, as a fraction of lr.'),
};

const shapes = {
  constant: { name: z.literal('constant') },
  'linear-warmup': {
    name: z.literal('linear-warmup'),
    warmupSteps: z.number().int().min(1),
  },
  cosine: { name: z.literal('cosine'), ...decayFields },
  linear: { name: z.literal('linear'), ...decayFields },
  step: {
    name: z.literal('step'),
    every: z.number().int().min(1).describe('Multiply the rate by gamma every `every` updates.'),
    gamma: z.number().gt(0).max(1).default(0.1),
  },
  'inverse-sqrt': { name: z.literal('inverse-sqrt'), warmupSteps },
};

type Shapes = typeof shapes;
export type ScheduleName = keyof Shapes;
export const SCHEDULE_NAMES = Object.keys(shapes) as ScheduleName[];

/** A schedule's config with its defaults applied. */
export type ScheduleConfig = {
  [K in ScheduleName]: z.output<z.ZodObject<Shapes[K]>>;
}[ScheduleName];
/** A schedule's config as written in a spec. */
export type ScheduleConfigInput = {
  [K in ScheduleName]: z.input<z.ZodObject<Shapes[K]>>;
}[ScheduleName];

/**
 * One schedule's object. Unknown keys are reported here, with the allowed ones (a nested strict
 * object would leave the registry without the list of keys to suggest).
 */
function variant<K extends ScheduleName>(name: K) {
  const allowed = Object.keys(shapes[name]);
  return z.looseObject(shapes[name]).superRefine((config, ctx) => {
    for (const key of Object.keys(config))
      if (!allowed.includes(key))
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `unknown key for schedule "${name}"; ${choicesHint(key, allowed, 'allowed keys')}`,
        });
  });
}

/** Decay schedules: the warmup is part of decaySteps, so it must be shorter. */
function warmupInsideDecay<T extends z.ZodType<{ warmupSteps: number; decaySteps: number }>>(
  schema: T,
) {
  return schema.superRefine((config, ctx) => {
    const { warmupSteps: w, decaySteps: d } = config;
    // Only when both fields are valid: their own rules report the other cases.
    if (!Number.isInteger(w) || w < 0 || !Number.isInteger(d) || d < 1 || w < d) return;
    ctx.addIssue({
      code: 'custom',
      path: ['warmupSteps'],
      message: `must be < decaySteps (${d}): decaySteps is the whole schedule, warmup included`,
    });
  });
}

const nameProblem = (input: unknown): string => {
  const name = (input as { name?: unknown } | null)?.name;
  if (name === undefined) return `required: the schedule, one of ${SCHEDULE_NAMES.join(', ')}`;
  if (typeof name !== 'string')
    return `expected a schedule name, one of ${SCHEDULE_NAMES.join(', ')}`;
  return `unknown schedule "${name}"; ${choicesHint(name, SCHEDULE_NAMES)}`;
};

/** A learning-rate schedule in a spec, chosen by `name`. */
export const scheduleConfig: z.ZodType<ScheduleConfig, ScheduleConfigInput> = z.discriminatedUnion(
  'name',
  [
    variant('constant'),
    variant('linear-warmup'),
    warmupInsideDecay(variant('cosine')),
    warmupInsideDecay(variant('linear')),
    variant('step'),
    variant('inverse-sqrt'),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union' && issue.input !== null && typeof issue.input === 'object'
        ? nameProblem(issue.input)
        : undefined,
  },
);

/** The schedule a config describes, with `lr` its peak. */
export function scheduleFromConfig(lr: number, config: ScheduleConfig): Schedule {
  switch (config.name) {
    case 'constant':
      return constantSchedule(lr);
    case 'linear-warmup':
      return linearWarmupSchedule(lr, config);
    case 'cosine':
      return cosineDecaySchedule(lr, config);
    case 'linear':
      return linearDecaySchedule(lr, config);
    case 'step':
      return stepDecaySchedule(lr, config);
    case 'inverse-sqrt':
      return inverseSqrtSchedule(lr, config);
  }
}

/** What an optimizer's `scaleByLearningRate` gets: `lr` itself when there is no schedule. */
export function learningRate(lr: number, schedule: ScheduleConfig | undefined): number | Schedule {
  return schedule === undefined ? lr : scheduleFromConfig(lr, schedule);
}
