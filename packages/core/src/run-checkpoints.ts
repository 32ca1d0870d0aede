/**
 * When a run saves its checkpoint: every `everySteps` updates, when `everySeconds` (default 60)
 * have passed since the last save, before it stops on request, and at its end. A trainer without
 * checkpoint() saves nothing: its run can stop but not resume.
 */
import { writeCheckpoint } from './checkpoint.js';
import type { TrainingSession } from './contracts.js';
import type { EventListener } from './events.js';
import type { CheckpointPolicy } from './run-executor.js';

export interface RunCheckpointsSetup {
  dir: string;
  runId: string;
  label: string;
  emit: EventListener;
  policy: CheckpointPolicy;
  session: TrainingSession;
  /** The state the run starts from (its checkpoint's step when resumed): saved already. */
  start: number;
}

export class RunCheckpoints {
  private last: { step: number; time: number };
  private readonly everyMs: number;

  constructor(private readonly setup: RunCheckpointsSetup) {
    this.last = { step: setup.start, time: performance.now() };
    this.everyMs = (setup.policy.everySeconds ?? 60) * 1000;
  }

  /** Saves state t when the policy says it is time (never the state saved last). */
  saveIfDue(t: number): void {
    if (t <= this.last.step) return;
    const { everySteps } = this.setup.policy;
    const dueBySteps = everySteps !== undefined && t - this.last.step >= everySteps;
    if (dueBySteps || performance.now() - this.last.time >= this.everyMs) this.save(t);
  }

  /** Saves state t before the run stops on request, unless it is the state saved last. */
  saveBeforeStop(t: number): void {
    if (t > this.last.step) this.save(t);
  }

  save(t: number): void {
    const { session, dir, runId, label, emit } = this.setup;
    if (!session.checkpoint) return;
    writeCheckpoint(dir, { ...session.checkpoint(), step: t, runId });
    this.last = { step: t, time: performance.now() };
    emit({ type: 'checkpoint', runId, label, step: t });
  }
}
