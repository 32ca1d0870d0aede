/** Progress of an experiment, as events. The CLI draws progress bars from these. */
import type { BackendInfo } from './contracts.js';

/** `interrupted`: stopped on request (Ctrl-C) after saving a checkpoint; running the spec again resumes it. */
export type RunStatus = 'completed' | 'diverged' | 'failed' | 'skipped' | 'interrupted';

export interface RunResult {
  id: string;
  label: string;
  dir: string;
  status: RunStatus;
  /** Updates made (in total, across resumptions). */
  steps: number;
  finalLoss?: number;
  finalEvalLoss?: number;
  /** Wall time of this execution (a resumed run counts from its resumption). */
  wallMs: number;
  /** The step this execution resumed from, when it resumed from a checkpoint. */
  resumedFrom?: number;
  /** The error's message when status is failed. */
  error?: string;
  /** When status is diverged (or was, for a skipped run): where and how. */
  divergence?: Divergence;
  /** For a skipped run: the status it finished with earlier (`completed` or `diverged`). */
  previousStatus?: RunStatus;
}

/**
 * Where a run's numbers stopped being finite. `value` is the non-finite number as text
 * (`NaN`, `Infinity`, `-Infinity`): JSON has no such numbers.
 */
export interface Divergence {
  /** The state (number of updates) whose loss was not finite. */
  step: number;
  /** What was not finite: `loss`. */
  quantity: string;
  value: string;
  /** The last finite loss before it, and its step, when there was one. */
  lastFiniteLoss?: number;
  lastFiniteStep?: number;
}

export interface ExperimentResult {
  name: string;
  dir: string;
  backend: BackendInfo;
  runs: RunResult[];
  /** Files the reporters wrote (summary.csv, report.html, figures). */
  reports: string[];
  /** One message per reporter that failed (the results are on disk all the same). */
  reportErrors?: string[];
}

/** One line of metrics.jsonl. */
export interface MetricsRecord {
  step: number;
  optimizer: string;
  /** Loss of training batch `step` at the parameters after `step` updates (null when not finite). */
  loss: number | null;
  evalLoss?: number | null;
  /**
   * The fields of this record whose value was not finite (they hold null), with the value as
   * text: `loss=NaN` or `loss=Infinity,evalLoss=NaN`. Absent when every value was finite.
   */
  nonFinite?: string;
  /**
   * Headline values of the analyses scheduled at this step, keyed by analysis label, and the
   * optimizer's numbers as `optimizer.<key>` (`optimizer.tau`: training time elapsed).
   */
  [analysis: string]: number | string | null | undefined;
}

export type ExperimentEvent =
  | {
      type: 'experiment-start';
      name: string;
      dir: string;
      backend: BackendInfo;
      /** Processes running runs at once (1: in this process). */
      workers: number;
      runs: Array<{ id: string; label: string; dir: string }>;
    }
  | {
      type: 'run-start';
      runId: string;
      label: string;
      index: number;
      total: number;
      steps: number;
      dir: string;
    }
  | { type: 'run-resumed'; runId: string; label: string; step: number; dir: string }
  | {
      type: 'run-skipped';
      runId: string;
      label: string;
      dir: string;
      reason: string;
      /** How the run finished earlier (`diverged` runs again with --rerun-diverged). */
      status?: RunStatus;
    }
  | {
      type: 'run-waiting';
      runId: string;
      label: string;
      dir: string;
      /** Who holds the run (another `tdx run` on the same folder): `process 123, since ...`. */
      holder: string;
    }
  | {
      /** Something the user should know that fails nothing (a damaged record that was kept). */
      type: 'warning';
      runId?: string;
      label?: string;
      message: string;
    }
  | { type: 'progress'; runId: string; label: string; step: number; steps: number }
  | { type: 'metrics'; runId: string; label: string; record: MetricsRecord }
  | {
      type: 'analysis';
      runId: string;
      label: string;
      analysis: string;
      step: number;
      value?: number;
      /** When the analysis was split into parts: the number of parts and of worker processes. */
      parts?: number;
      workers?: number;
    }
  | { type: 'checkpoint'; runId: string; label: string; step: number }
  | { type: 'run-end'; runId: string; label: string; result: RunResult }
  | { type: 'reports'; files: string[] }
  | { type: 'experiment-end'; result: ExperimentResult };

export type EventListener = (event: ExperimentEvent) => void;
