/**
 * When things happen during a run. Step t means "the parameters after t updates", so a
 * run of `steps` updates has states 0..steps and the last one is always recorded.
 */

/** When an analysis runs, or metrics are logged (a learning-rate schedule is @tdx/optimizers'). */
export interface StepTiming {
  /** Every K states: 0, K, 2K, ... and the final state. */
  every?: number | undefined;
  /** Exactly these states. */
  at?: readonly number[] | undefined;
}

/** The states at which a schedule fires. With neither `every` nor `at`: the final state only. */
export function scheduledSteps(schedule: StepTiming, steps: number): Set<number> {
  const out = new Set<number>();
  if (schedule.every !== undefined) {
    for (let t = 0; t <= steps; t += schedule.every) out.add(t);
    out.add(steps);
  }
  for (const t of schedule.at ?? []) if (t <= steps) out.add(t);
  if (schedule.every === undefined && schedule.at === undefined) out.add(steps);
  return out;
}
