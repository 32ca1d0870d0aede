/** Learning-rate schedules: functions of the step (0 for the first update). */
export type Schedule = (step: number) => number;

export const constantSchedule =
  (value: number): Schedule =>
  () =>
    value;

/** A number or a schedule, as a schedule. */
export function asSchedule(value: number | Schedule): Schedule {
  return typeof value === 'number' ? constantSchedule(value) : value;
}
