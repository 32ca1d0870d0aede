/**
 * Is a sample's tail heavier than its Gaussian control's? The criterion (both must hold):
 *
 * 1. Hill's tail index of the sample lies below the control's by more than `standardErrors`
 *    (default 2) standard errors of the difference: α_c − α_s > 2 √(se_s² + se_c²), with the
 *    asymptotic errors α̂/√k of the two (independent) estimates;
 * 2. the sample's excess kurtosis exceeds the control's.
 *
 * A control's tail index may be Infinity (no tail at all): then 1 holds whenever the sample's is
 * finite.
 */
import type { TailSummary } from './tail-summary.js';

/** The criterion in words, for `standardErrors` = z. */
export function heavierTailCriterion(z = 2): string {
  return `Hill's tail index below the Gaussian control's by more than ${z} standard errors of the difference (α_c − α > ${z}·√(se² + se_c²)), and excess kurtosis above the control's`;
}

export interface TailComparison {
  heavier: boolean;
  /** α_control − α_sample (Infinity when the control has no tail). */
  tailIndexGap: number;
  /** √(se_sample² + se_control²). */
  gapStandardError: number;
  /** tailIndexGap / gapStandardError. */
  gapInStandardErrors: number;
  /** κ_sample − κ_control (excess kurtosis). */
  kurtosisGap: number;
  criterion: string;
}

export function compareTails(
  sample: Pick<TailSummary, 'hill' | 'excessKurtosis'>,
  control: Pick<TailSummary, 'hill' | 'excessKurtosis'>,
  options: { standardErrors?: number } = {},
): TailComparison {
  const z = options.standardErrors ?? 2;
  const tailIndexGap = control.hill.alpha - sample.hill.alpha;
  const gapStandardError = Math.hypot(sample.hill.standardError, control.hill.standardError);
  const gapInStandardErrors = tailIndexGap / gapStandardError;
  const kurtosisGap = sample.excessKurtosis - control.excessKurtosis;
  const lighterIndex =
    Number.isFinite(sample.hill.alpha) &&
    (control.hill.alpha === Infinity || tailIndexGap > z * gapStandardError);
  return {
    heavier: lighterIndex && kurtosisGap > 0,
    tailIndexGap,
    gapStandardError,
    gapInStandardErrors,
    kurtosisGap,
    criterion: heavierTailCriterion(z),
  };
}
