/**
 * What a worker does with one job: check it is a tdx run, claim the run (waiting while another
 * worker's lease is live), restore its folder from the store into a scratch folder, execute it
 * in a run process under a lease, and settle it: ended (recorded in the store), given back to
 * the queue (the worker is stopping), or lost to another worker.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WaitingError, type Job } from 'bullmq';
import { flattenRef, TdxError, type RunResult, type RunTask } from '@tdx/core';
import type { ChildSetup, RunJob, SerializedError, ToChild } from './protocol.js';
import { RunAttempt } from './run-attempt.js';
import type { RunProcess } from './run-processes.js';
import type { ClaimOutcome, StoredFile } from './store.js';
import type { WorkerHost } from './worker-host.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** BullMQ's processor for a worker: one call per job. */
export const jobProcessor =
  (host: WorkerHost) =>
  (job: Job<RunJob>, token?: string): Promise<unknown> =>
    processJob(host, job, token);

async function processJob(host: WorkerHost, job: Job<RunJob>, token?: string): Promise<unknown> {
  const data = checkJob(job);
  const claim = await claimRun(host, data, job, token);
  if (claim.outcome !== 'claimed') return skip(host, data, claim.outcome);
  const attempt = new RunAttempt(host, data, claim.epoch);
  const dir = join(host.scratchRoot, data.key.replace(/[^A-Za-z0-9._=+-]/g, '_'));
  const mode = await restoreFolder(attempt, dir, claim.files);
  if (mode === 'superseded') return superseded(host);
  attempt.holdLease();
  try {
    const result = await execute(host, attempt, {
      ...data.task,
      dir,
      mode,
      reportDir: data.reportDir,
    });
    return await settle(host, attempt, result, job, token);
  } finally {
    attempt.releaseLease();
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkJob(job: Job<RunJob>): RunJob {
  const data = job.data;
  if (data?.format !== 'tdx-run-job/1')
    throw new TdxError(
      'INVALID_ARGUMENT',
      `job ${job.id} is not a tdx run (format ${JSON.stringify(data?.format)}); a submitter of another tdx version?`,
    );
  return data;
}

/** Claims the run; waits while another worker's lease is live (it may be alive and slow). */
async function claimRun(
  host: WorkerHost,
  data: RunJob,
  job: Job<RunJob>,
  token: string | undefined,
): Promise<Exclude<ClaimOutcome, { outcome: 'busy' }>> {
  for (;;) {
    if (host.stopping) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const claim = await host.store.claim(data.key, host.name, host.leaseMs);
    if (claim.outcome !== 'busy') return claim;
    await sleep(Math.min(claim.retryMs + 100, host.leaseMs));
  }
}

function skip(host: WorkerHost, data: RunJob, outcome: 'ended' | 'missing') {
  const why = outcome === 'ended' ? 'it has ended already' : 'no longer on the queue';
  host.log(`[skip] ${data.task.plan.label}: ${why}`);
  return { skipped: outcome };
}

function superseded(host: WorkerHost) {
  host.summary.superseded++;
  return { superseded: true };
}

/**
 * The run's folder as the store holds it, in a scratch folder of its own: resumed from its
 * checkpoint, or started again from scratch (nothing of an earlier attempt without a
 * checkpoint stays, as for a local run).
 */
async function restoreFolder(
  attempt: RunAttempt,
  dir: string,
  files: StoredFile[],
): Promise<RunTask['mode'] | 'superseded'> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const resume = files.some((f) => f.path === 'checkpoints/latest.json');
  attempt.hasFiles = files.length > 0;
  if (resume) {
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.data);
    }
    return 'resume';
  }
  if (attempt.hasFiles) {
    const { store } = attempt.host;
    if (!(await store.sync(attempt.job.key, attempt.epoch, [{ op: 'reset' }], [])))
      return 'superseded';
    attempt.hasFiles = false;
  }
  return 'fresh';
}

/** How the run process is set up: a spec that names a backend gets it; `auto` the worker's. */
function childSetup(host: WorkerHost, data: RunJob): ChildSetup {
  const { spec } = data.task.plan;
  return {
    plugins: spec.plugins,
    baseDir: host.pluginDir,
    backend:
      host.backend && spec.backend.name === 'auto'
        ? { name: host.backend }
        : flattenRef(spec.backend),
    analysisWorkers: host.analysisWorkers,
    ...(host.analysisWorkerScript ? { analysisWorkerScript: host.analysisWorkerScript } : {}),
    worker: host.name,
  };
}

/** Executes the run in a run process; a process that cannot start is the run's failure. */
async function execute(host: WorkerHost, attempt: RunAttempt, task: RunTask): Promise<RunResult> {
  const p = host.processes.acquire(childSetup(host, attempt.job));
  attempt.process = p;
  try {
    await p.ready;
  } catch (error) {
    host.processes.discard(p);
    attempt.process = undefined;
    const e = error as SerializedError;
    host.log(`[failed] ${attempt.label}: ${e.message}`);
    return attempt.fail(e);
  }
  host.log(
    `[run] ${attempt.label}${task.mode === 'resume' ? ', resuming from its checkpoint' : ''}`,
  );
  return runOn(host, attempt, p, task);
}

/** Sends the run to the process and relays what it writes, until it is done or cut off. */
function runOn(
  host: WorkerHost,
  attempt: RunAttempt,
  proc: RunProcess,
  task: RunTask,
): Promise<RunResult> {
  const { plan } = task;
  return new Promise<RunResult>((resolveRun) => {
    const interrupted = () =>
      resolveRun({
        id: plan.id,
        label: plan.label,
        dir: attempt.job.reportDir,
        status: 'interrupted',
        steps: attempt.lastStep,
        wallMs: performance.now() - attempt.started,
      });
    proc.onMessage = (message) => {
      if (message.type === 'sync') {
        for (const e of message.events) if (e.type === 'progress') attempt.lastStep = e.step;
        void attempt.write(message.ops, message.events);
      } else if (message.type === 'done') {
        resolveRun(message.result);
      }
    };
    proc.onExit = (code, signal) => {
      proc.onExit = undefined;
      proc.onMessage = undefined;
      if (attempt.superseded) return interrupted();
      void attempt
        .fail({
          code: 'WORKER_FAILED',
          message: `the process executing this run on worker ${host.name} exited (${signal ? `signal ${signal}` : `code ${code}`}); running the spec again resumes it from its last checkpoint`,
        })
        .then(resolveRun);
    };
    attempt.onInterrupt(interrupted);
    const { checkpoint, specFile } = attempt.job;
    proc.child.send({
      type: 'run',
      task,
      checkpoint,
      ...(specFile ? { specFile } : {}),
    } satisfies ToChild);
    if (host.stopping) proc.child.send({ type: 'stop' } satisfies ToChild);
  });
}

/** Ended, given back to the queue (stopped on request), lost, or to be tried again (broken). */
async function settle(
  host: WorkerHost,
  attempt: RunAttempt,
  result: RunResult,
  job: Job<RunJob>,
  token: string | undefined,
): Promise<unknown> {
  await attempt.settled();
  if (attempt.process) host.processes.release(attempt.process);
  if (attempt.superseded) return superseded(host);
  if (attempt.broken) throw attempt.broken;
  if (result.status === 'interrupted') {
    // Stopped on request (the worker is stopping): back to the queue, to resume elsewhere.
    await host.store.release(attempt.job.key, attempt.epoch);
    host.summary.givenBack++;
    host.log(
      `[give back] ${attempt.label}: stopped at step ${result.steps} (checkpoint saved); back on the queue`,
    );
    await job.moveToWait(token);
    throw new WaitingError();
  }
  await attempt.finish(result);
  return { status: result.status };
}
