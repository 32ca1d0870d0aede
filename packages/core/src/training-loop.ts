/**
 * A run's training loop over states start..steps. At each state: save a checkpoint when due,
 * stop when asked, measure what is scheduled (analyses, eval loss, the optimizer's numbers),
 * take the update (or, at the last state, only the loss), and record. The loop ends early when
 * the loss stops being finite.
 */
import type { TrainingSession } from './contracts.js';
import type { Divergence, EventListener, RunResult } from './events.js';
import { metricsRecord, type StateNumbers } from './metrics-record.js';
import type { RunAnalyses } from './run-analyses.js';
import type { RunCheckpoints } from './run-checkpoints.js';
import type { JsonlWriter } from './run-directory.js';

/** How far a run got and how it ended; the run's result (or its failure) is built from it. */
export interface RunProgress {
  status: RunResult['status'];
  /** Updates done (from the checkpoint's step on when resumed). */
  completed: number;
  resumedFrom?: number;
  finalLoss?: number;
  finalEvalLoss?: number;
  lastFinite?: { step: number; loss: number };
  divergence?: Divergence;
}

export interface TrainingLoop {
  runId: string;
  label: string;
  /** The optimizer's label, written in every metrics record. */
  optimizer: string;
  emit: EventListener;
  session: TrainingSession;
  analyses: RunAnalyses;
  checkpoints: RunCheckpoints;
  metrics: JsonlWriter;
  /** The states that are logged whether or not an analysis is due. */
  logged: Set<number>;
  start: number;
  steps: number;
  shouldStop: () => boolean;
}

export async function trainingLoop(loop: TrainingLoop, progress: RunProgress): Promise<void> {
  const { session, steps } = loop;
  const pacer = new Pacer(loop);
  for (let t = loop.start; t <= steps; t++) {
    loop.checkpoints.saveIfDue(t);
    if (loop.shouldStop()) {
      loop.checkpoints.saveBeforeStop(t);
      progress.status = 'interrupted';
      break;
    }
    const logging = loop.logged.has(t) || loop.analyses.anyDue(t);
    const measured = logging ? await measureState(loop, t) : undefined;
    const loss = t < steps ? session.step(t) : session.loss(t);
    if (t < steps) progress.completed = t + 1;
    const diverged = noteLoss(progress, t, loss);
    // The step where the loss stops being finite is always recorded, logged step or not.
    if (measured || diverged) {
      const record = metricsRecord(t, loop.optimizer, loss, measured ?? NOTHING_MEASURED);
      loop.metrics.append(record);
      loop.emit({ type: 'metrics', runId: loop.runId, label: loop.label, record });
    }
    progress.finalLoss = loss;
    if (measured?.evalLoss !== undefined) progress.finalEvalLoss = measured.evalLoss;
    pacer.reportProgress(t);
    if (diverged) {
      progress.status = 'diverged';
      break;
    }
    await pacer.yieldIfDue();
  }
}

const NOTHING_MEASURED: StateNumbers = { optimizer: {}, analyses: {} };

/** The scheduled analyses, then the eval loss and the optimizer's numbers, at state t. */
async function measureState(loop: TrainingLoop, t: number): Promise<StateNumbers> {
  const analyses = await loop.analyses.evaluateDue(t, loop.session);
  const evalLoss = loop.session.evalLoss();
  // The optimizer's numbers describe the state the loss is measured at: before update t.
  const optimizer = loop.session.metrics?.() ?? {};
  return { evalLoss, optimizer, analyses };
}

/** Keeps the last finite loss; a loss that is not finite is the run's divergence. */
function noteLoss(progress: RunProgress, t: number, loss: number): boolean {
  if (Number.isFinite(loss)) {
    progress.lastFinite = { step: t, loss };
    return false;
  }
  const { lastFinite } = progress;
  progress.divergence = {
    step: t,
    quantity: 'loss',
    value: String(loss),
    ...(lastFinite ? { lastFiniteLoss: lastFinite.loss, lastFiniteStep: lastFinite.step } : {}),
  };
  return true;
}

/**
 * Progress events at most every 50 ms (and at the last state), and a turn of the event loop
 * every 100 ms, so that signals, IPC and progress output get through between synchronous steps.
 */
class Pacer {
  private lastProgress = 0;
  private lastYield = performance.now();
  private now = 0;

  constructor(private readonly loop: TrainingLoop) {}

  reportProgress(t: number): void {
    const { runId, label, steps, emit } = this.loop;
    this.now = performance.now();
    if (this.now - this.lastProgress > 50 || t === steps) {
      emit({ type: 'progress', runId, label, step: t, steps });
      this.lastProgress = this.now;
    }
  }

  async yieldIfDue(): Promise<void> {
    if (this.now - this.lastYield > 100) {
      await new Promise<void>((r) => setImmediate(r));
      this.lastYield = performance.now();
    }
  }
}
