/**
 * Follows the submission's runs while they execute: reads their event streams (one blocking
 * XREAD over all of them), passes the events on, and looks at a run's folder in the store when
 * it has news, when it has ended, or every `pollMs` in any case.
 */
import type { Redis } from 'ioredis';
import type { ExperimentEvent } from '@tdx/core';
import type { Pending, Submission } from './submission.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Entries = Array<[string, Array<[string, string[]]>]>;

/** Until every run is collected (or the wait is aborted); `blocking` is a connection of its own. */
export async function followRuns(submission: Submission, blocking: Redis): Promise<void> {
  const { pending } = submission;
  while ((submission.submitting || pending.size > 0) && !submission.aborted()) {
    if (pending.size === 0) {
      await sleep(100);
      continue;
    }
    const list = [...pending.values()];
    passEvents(submission, list, await readEvents(blocking, list));
    await lookAtRuns(submission);
  }
}

async function readEvents(blocking: Redis, list: Pending[]): Promise<Entries | null> {
  try {
    return (await blocking.xread(
      'COUNT',
      1000,
      'BLOCK',
      500,
      'STREAMS',
      ...list.map((p) => p.eventsKey),
      ...list.map((p) => p.lastId),
    )) as Entries | null;
  } catch {
    await sleep(500);
    return null;
  }
}

function passEvents(submission: Submission, list: Pending[], reply: Entries | null): void {
  for (const [stream, entries] of reply ?? []) {
    const p = list.find((x) => x.eventsKey === stream);
    if (!p) continue;
    for (const [id, fields] of entries) {
      p.lastId = id;
      p.dirty = true;
      let event: ExperimentEvent;
      try {
        event = JSON.parse(fields[1] ?? '') as ExperimentEvent;
      } catch {
        continue;
      }
      if (event.type === 'run-end') p.ended = true;
      else {
        if (event.type === 'progress') p.lastStep = event.step;
        submission.setup.emit(event);
      }
    }
  }
}

async function lookAtRuns(submission: Submission): Promise<void> {
  const now = performance.now();
  for (const p of [...submission.pending.values()]) {
    if (submission.aborted()) break;
    if (p.ended || (p.dirty && now - p.lastLook > 1000) || now - p.lastLook > submission.pollMs)
      await submission.look(p).catch((error: unknown) => {
        // A folder that cannot be written now (a full disk) is written at the end.
        submission.setup.emit({
          type: 'warning',
          runId: p.task.plan.id,
          label: p.task.plan.label,
          message: `cannot follow the run here yet: ${error instanceof Error ? error.message : String(error)}`,
        });
      });
  }
}
