/**
 * A run's analyses on their schedules: which are due at a state, their evaluation (in this
 * process, or split over analysis workers), and their records in analyses/<label>.json, which
 * is written whole again after each evaluation so that it is always a valid file.
 */
import { join } from 'node:path';
import { evaluateAnalysis } from './analysis-evaluation.js';
import type { AnalysisInstance, TrainingSession } from './contracts.js';
import type { EventListener } from './events.js';
import type { AnalysisFile } from './experiment-data.js';
import {
  openAnalysisPool,
  type AnalysisPool,
  type AnalysisWorkerSetup,
} from './pool/analysis-pool.js';
import { writeJsonAtomic } from './run-directory.js';
import { scheduledSteps } from './schedule.js';
import { deriveSeed } from './seeds.js';
import type { ResolvedAnalysisRef, RunSpec } from './spec/schema.js';

/** The content of analyses/<label>.json. */
export function analysisFile(
  ref: ResolvedAnalysisRef,
  records: AnalysisFile['records'],
): AnalysisFile {
  return {
    analysis: ref.name,
    label: ref.label,
    config: ref.config,
    ...(ref.every === undefined ? {} : { every: ref.every }),
    ...(ref.at === undefined ? {} : { at: ref.at }),
    records,
  };
}

interface ScheduledAnalysis {
  ref: ResolvedAnalysisRef;
  index: number;
  instance: AnalysisInstance;
  due: Set<number>;
  records: AnalysisFile['records'];
}

export interface RunAnalysesSetup {
  spec: RunSpec;
  dir: string;
  runId: string;
  label: string;
  emit: EventListener;
  /** The run's analysis instances, in the spec's order. */
  instances: AnalysisInstance[];
  /** Records kept from before the checkpoint the run resumes from, by analysis label. */
  records: Map<string, AnalysisFile['records']>;
  workers?: AnalysisWorkerSetup | undefined;
}

export class RunAnalyses {
  private readonly scheduled: ScheduledAnalysis[];
  // Started when an analysis first splits into parts; null when that is not possible.
  private pool: AnalysisPool | null | undefined;

  constructor(private readonly setup: RunAnalysesSetup) {
    const { spec, instances, records } = setup;
    this.scheduled = spec.analyses.map((ref, i) => ({
      ref,
      index: i,
      instance: instances[i]!,
      due: scheduledSteps(ref, spec.train.steps),
      records: records.get(ref.label) ?? [],
    }));
  }

  /** Whether some analysis is due at state t (a state with an analysis is always logged). */
  anyDue(t: number): boolean {
    return this.scheduled.some((a) => a.due.has(t));
  }

  /**
   * Evaluates the analyses due at state t, records and announces each, and returns their
   * values by label (analyses without a single value add none).
   */
  async evaluateDue(t: number, session: TrainingSession): Promise<Record<string, number>> {
    const { spec, dir, runId, label, emit, workers } = this.setup;
    const values: Record<string, number> = {};
    for (const a of this.scheduled.filter((s) => s.due.has(t))) {
      const actx = { step: t, seed: deriveSeed(spec.seed, 'analysis', a.ref.label, t) };
      const { output, split } = await evaluateAnalysis(
        a.instance,
        a.index,
        session.target(),
        actx,
        () => (this.pool ??= workers ? openAnalysisPool(workers, spec) : null),
      );
      if (output.value !== undefined) values[a.ref.label] = output.value;
      a.records.push({
        step: t,
        ...(output.value === undefined ? {} : { value: output.value }),
        ...output.data,
      });
      writeJsonAtomic(join(dir, 'analyses', `${a.ref.label}.json`), analysisFile(a.ref, a.records));
      emit({
        type: 'analysis',
        runId,
        label,
        analysis: a.ref.label,
        step: t,
        ...(output.value === undefined ? {} : { value: output.value }),
        ...split,
      });
    }
    return values;
  }

  /** Stops the analysis workers, if any were started. */
  close(): void {
    this.pool?.close();
  }
}
