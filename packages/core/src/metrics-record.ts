/**
 * One line of metrics.jsonl: the numbers measured at a state. JSON has no NaN or Infinity, so a
 * number that is not finite is written as null and named, with its value as text, in `nonFinite`.
 */
import type { MetricsRecord } from './events.js';

/** What was measured at a state besides the loss (all absent on a state that is not logged). */
export interface StateNumbers {
  evalLoss?: number | undefined;
  /** The optimizer's own numbers (written as `optimizer.<key>`). */
  optimizer: Record<string, number>;
  /** The analyses' values, by label. */
  analyses: Record<string, number>;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function metricsRecord(
  step: number,
  optimizer: string,
  loss: number,
  measured: StateNumbers,
): MetricsRecord {
  const { evalLoss } = measured;
  const numbers: Record<string, number> = {
    loss,
    ...(evalLoss === undefined ? {} : { evalLoss }),
    ...Object.fromEntries(
      Object.entries(measured.optimizer).map(([k, v]) => [`optimizer.${k}`, v]),
    ),
    ...measured.analyses,
  };
  const nonFinite = Object.entries(numbers)
    .filter(([, v]) => !Number.isFinite(v))
    .map(([k, v]) => `${k}=${String(v)}`);
  return {
    step,
    optimizer,
    ...Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, finiteOrNull(v)])),
    loss: finiteOrNull(loss),
    ...(nonFinite.length > 0 ? { nonFinite: nonFinite.join(',') } : {}),
  };
}
