/**
 * Hands out the runs of an experiment one at a time, each under an exclusive claim on its
 * folder (run-claim.ts). What a run needs (nothing, a resumption, a fresh start) is decided
 * only once it is claimed, so two `tdx run` processes on one folder split the runs between
 * them: neither runs what the other is running, neither moves the other's folder aside, and a
 * run the other holds is waited for, then skipped if it finished (or taken up if it did not).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointPath } from './checkpoint.js';
import type { EventListener, RunResult } from './events.js';
import { describeHolder, tryClaimRun, type RunClaim } from './run-claim.js';
import {
  holdsNoResults,
  moveAside,
  readJsonFile,
  removeRestartedFolders,
  removeTemporaryFiles,
} from './run-directory.js';
import type { RunTask } from './run-executor.js';
import type { PlannedRun } from './spec/expand.js';

export interface RunSource {
  /** The next run to execute, claimed; undefined when none is left (or a stop was asked). */
  next(): Promise<RunTask | undefined>;
  /** Gives up the claim of a run that ended. */
  finished(task: RunTask): void;
  /** Gives up every claim still held. */
  releaseAll(): void;
}

export interface RunSourceOptions {
  /** Run finished runs again (their folders are moved aside). */
  rerun?: boolean;
  /** Run again runs that diverged (their folders are moved aside). */
  rerunDiverged?: boolean;
  /** How often to look again at runs another process holds (default 500 ms). */
  pollMs?: number;
}

const FINISHED = new Set(['completed', 'diverged']);

/** The status in a run folder's result.json, when it has a readable one. */
function previousResult(dir: string): RunResult | undefined {
  const file = readJsonFile<RunResult>(join(dir, 'result.json'));
  return file && 'value' in file && typeof file.value?.status === 'string' ? file.value : undefined;
}

function runsAgain(previous: RunResult | undefined, options: RunSourceOptions): boolean {
  return (
    options.rerun === true || (previous?.status === 'diverged' && options.rerunDiverged === true)
  );
}

/** Whether a run folder needs work (a quick look, without claiming it). */
export function needsWork(dir: string, options: RunSourceOptions): boolean {
  const previous = previousResult(dir);
  return !FINISHED.has(previous?.status ?? '') || runsAgain(previous, options);
}

/** Words for a finished run's outcome, for the line that says it is skipped. */
function finishedReason(previous: RunResult, meanwhile: boolean): string {
  const d = previous.divergence;
  const when = meanwhile ? 'meanwhile, in another process' : 'earlier';
  if (previous.status !== 'diverged') return meanwhile ? `finished ${when}` : 'already finished';
  return d ? `diverged ${when}, at step ${d.step} (${d.quantity} ${d.value})` : `diverged ${when}`;
}

export function runSource(
  runs: readonly PlannedRun[],
  experimentDir: string,
  results: Map<string, RunResult>,
  emit: EventListener,
  shouldStop: () => boolean,
  options: RunSourceOptions,
): RunSource {
  const pending = runs.map((plan, index) => ({ plan, index }));
  const claims = new Map<RunTask, RunClaim>();
  const announced = new Set<string>();
  const waitedFor = new Set<string>();

  /** Under the claim: the task to execute, or undefined when the run is skipped. */
  const prepare = (plan: PlannedRun, index: number): RunTask | undefined => {
    const dir = join(experimentDir, plan.id);
    const warn = (message: string) =>
      emit({ type: 'warning', runId: plan.id, label: plan.label, message });
    // Only this process may write in the folder now: what interrupted writes left is stale.
    for (const path of removeTemporaryFiles(dir))
      warn(`removed ${path}, left by a write that was interrupted`);
    removeRestartedFolders(dir);
    const resultFile = readJsonFile<RunResult>(join(dir, 'result.json'));
    if (resultFile && 'damaged' in resultFile)
      warn(`${join(dir, 'result.json')} is damaged (${resultFile.damaged}); the run is run again`);
    const previous = previousResult(dir);
    const finished = FINISHED.has(previous?.status ?? '');
    const again = runsAgain(previous, options);
    if (finished && !again) {
      const reason = finishedReason(previous!, waitedFor.has(plan.id));
      emit({
        type: 'run-skipped',
        runId: plan.id,
        label: plan.label,
        dir,
        reason,
        status: previous!.status,
      });
      results.set(plan.id, {
        ...previous!,
        status: 'skipped',
        previousStatus: previous!.status,
      });
      return undefined;
    }
    const resumable = !again && existsSync(checkpointPath(dir));
    let movedTo: string | undefined;
    if (!resumable && existsSync(dir)) {
      // A run restarted before its first checkpoint left nothing a fresh start does not
      // compute again, identically: start over in place rather than pile up folders.
      if (!finished && holdsNoResults(dir)) rmSync(dir, { recursive: true, force: true });
      else movedTo = moveAside(dir);
    }
    return {
      plan,
      dir,
      index,
      total: runs.length,
      mode: resumable ? 'resume' : 'fresh',
      ...(movedTo ? { previousMovedTo: movedTo } : {}),
    };
  };

  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  return {
    async next() {
      for (;;) {
        if (shouldStop()) return undefined;
        for (const entry of [...pending]) {
          const outcome = tryClaimRun(experimentDir, entry.plan.id, { owner: 'tdx run' });
          if (!outcome.claimed) {
            waitedFor.add(entry.plan.id);
            if (!announced.has(entry.plan.id)) {
              announced.add(entry.plan.id);
              emit({
                type: 'run-waiting',
                runId: entry.plan.id,
                label: entry.plan.label,
                dir: join(experimentDir, entry.plan.id),
                holder: describeHolder(outcome.holder),
              });
            }
            continue;
          }
          pending.splice(pending.indexOf(entry), 1);
          if (outcome.tookOverFrom)
            emit({
              type: 'warning',
              runId: entry.plan.id,
              label: entry.plan.label,
              message: `took over the claim of ${describeHolder(outcome.tookOverFrom)}, which is gone (it crashed or was killed)`,
            });
          let task: RunTask | undefined;
          try {
            task = prepare(entry.plan, entry.index);
          } catch (error) {
            outcome.claim.release();
            const result: RunResult = {
              id: entry.plan.id,
              label: entry.plan.label,
              dir: join(experimentDir, entry.plan.id),
              status: 'failed',
              steps: 0,
              wallMs: 0,
              error: error instanceof Error ? error.message : String(error),
            };
            results.set(entry.plan.id, result);
            emit({ type: 'run-end', runId: entry.plan.id, label: entry.plan.label, result });
            continue;
          }
          if (!task) {
            outcome.claim.release();
            continue;
          }
          claims.set(task, outcome.claim);
          return task;
        }
        if (pending.length === 0) return undefined;
        await wait(options.pollMs ?? 500);
      }
    },
    finished(task) {
      claims.get(task)?.release();
      claims.delete(task);
    },
    releaseAll() {
      for (const claim of claims.values()) claim.release();
      claims.clear();
    },
  };
}
