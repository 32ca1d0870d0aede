/**
 * One worker's attempt at one run, from its claim to its end: the lease that keeps other
 * workers off (renewed, and the run's process paused before the lease could expire unrenewed),
 * the run folder's writes to the store (in order, each naming the claim's epoch), and what
 * happens when another worker takes the run over or a write fails.
 */
import { runSpecToJson, type ExperimentEvent, type RunResult } from '@tdx/core';
import type { RunJob, SerializedError } from './protocol.js';
import type { RunProcess } from './run-processes.js';
import type { FileOp } from './store.js';
import type { WorkerHost } from './worker-host.js';

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

/** The files a failed run leaves, as executeRun writes them (error.json, then result.json). */
function failureFiles(result: RunResult, error: SerializedError): FileOp[] {
  return [
    {
      op: 'write',
      path: 'error.json',
      data: json({
        message: result.error,
        ...(error.code
          ? { code: error.code, problems: error.problems ?? [], hint: error.hint }
          : {}),
        stack: error.stack,
      }),
    },
    { op: 'write', path: 'result.json', data: json(result) },
  ];
}

export class RunAttempt {
  readonly label: string;
  readonly started = performance.now();
  /** The last step the run reported. */
  lastStep = 0;
  /** Another worker has the run: this attempt's output is refused; it stops. */
  superseded = false;
  /** A write failed (not refused): the attempt stops and BullMQ tries the job again. */
  broken: unknown;
  /** The process executing the run, once there is one. */
  process: RunProcess | undefined;
  /** Whether the store holds files of the run (spec.json is written with a failure if not). */
  hasFiles = false;
  private paused = false;
  private validUntil: number;
  private writes: Promise<unknown> = Promise.resolve();
  private timers: ReturnType<typeof setInterval>[] = [];
  /** Ends the wait for the run's process (set while it executes). */
  private interrupt = () => {};

  constructor(
    readonly host: WorkerHost,
    readonly job: RunJob,
    readonly epoch: number,
  ) {
    this.label = job.task.plan.label;
    this.validUntil = performance.now() + host.leaseMs;
  }

  /** Sends the run folder's changes and events to the store, after every earlier write. */
  write(ops: FileOp[], events: ExperimentEvent[]): Promise<unknown> {
    this.writes = this.writes.then(async () => {
      if (this.superseded || this.broken) return;
      try {
        if (!(await this.host.store.sync(this.job.key, this.epoch, ops, events)))
          this.lose('its output was refused');
      } catch (error) {
        this.broken = error;
        this.host.log(
          `[error] ${this.label}: cannot write to Redis: ${error instanceof Error ? error.message : String(error)}; stopped here, to be tried again`,
        );
        if (this.process) this.host.processes.discard(this.process);
        this.interrupt();
      }
    });
    return this.writes;
  }

  /** Resolves once every write asked so far has been done (or refused). */
  settled(): Promise<unknown> {
    return this.writes;
  }

  /** Another worker has the run: stop here. */
  lose(why: string): void {
    if (!this.superseded) {
      this.superseded = true;
      this.host.log(
        `[lost] ${this.label}: another worker has taken it over (${why}); stopped here`,
      );
      if (this.process) this.host.processes.discard(this.process);
    }
    this.interrupt();
  }

  /** While the run executes, `interrupt` ends the wait for its result (lost or broken). */
  onInterrupt(interrupt: () => void): void {
    this.interrupt = interrupt;
  }

  /** Renews the lease often; pauses the run's process before the lease could run out. */
  holdLease(): void {
    const { store, leaseMs, log } = this.host;
    let renewing = false;
    const renew = setInterval(() => {
      if (renewing || this.superseded) return;
      renewing = true;
      const asked = performance.now();
      store.renew(this.job.key, this.epoch, leaseMs).then(
        (ok) => {
          renewing = false;
          if (!ok) return this.lose('its lease was taken');
          this.validUntil = asked + leaseMs;
          if (this.paused && this.process) {
            this.paused = false;
            this.process.child.kill('SIGCONT');
            log(`[continue] ${this.label}: lease renewed; continuing`);
          }
        },
        () => {
          renewing = false;
        },
      );
    }, leaseMs / 6);
    const watchdog = setInterval(() => {
      if (this.paused || this.superseded || !this.process) return;
      if (performance.now() > this.validUntil - leaseMs / 3) {
        this.paused = true;
        this.process.child.kill('SIGSTOP');
        log(
          `[pause] ${this.label}: its lease cannot be renewed (Redis unreachable?); paused until it is`,
        );
      }
    }, 100);
    this.timers.push(renew, watchdog);
  }

  releaseLease(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  /** Records a failure that happened outside executeRun (a process that died, a bad setup). */
  async fail(error: SerializedError): Promise<RunResult> {
    const { plan } = this.job.task;
    const result: RunResult = {
      id: plan.id,
      label: this.label,
      dir: this.job.reportDir,
      status: 'failed',
      steps: this.lastStep,
      wallMs: performance.now() - this.started,
      error: error.message,
    };
    const ops: FileOp[] = [
      ...(this.hasFiles
        ? []
        : [{ op: 'write', path: 'spec.json', data: json(runSpecToJson(plan.spec)) } as FileOp]),
      ...failureFiles(result, error),
    ];
    await this.write(ops, []);
    return result;
  }

  /** Records the run's end in the store (refused: another worker has it). */
  async finish(result: RunResult): Promise<void> {
    const { store, summary, log } = this.host;
    const event = { type: 'run-end', runId: this.job.task.plan.id, label: this.label, result };
    if (!(await store.end(this.job.key, this.epoch, result, event))) {
      this.lose('the end was refused');
      summary.superseded++;
      return;
    }
    summary.ended++;
    const seconds = (result.wallMs / 1000).toFixed(1);
    log(
      `[${result.status}] ${this.label} in ${seconds} s${result.error ? `: ${result.error}` : ''}`,
    );
  }
}
