/**
 * The worker's run processes: children that execute runs, each started for one setup (registry
 * module, plugins, backend) and reused while the next run needs the same one. At most
 * `concurrency` live at once; an idle one of another setup makes room for a new one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { BackendInfo } from '@tdx/core';
import type { ChildSetup, FromChild, SerializedError, ToChild } from './protocol.js';

/** A child process that executes runs, with the setup it was started with. */
export interface RunProcess {
  child: ChildProcess;
  key: string;
  ready: Promise<BackendInfo>;
  busy: boolean;
  /** Set while it executes a run: the run's handler of messages and of the process's exit. */
  onMessage?: (message: FromChild) => void;
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface RunProcessOptions {
  /** The script each child runs (run-process.js). */
  script: string;
  execArgv: string[];
  /** Cores each child may use (TDX_BACKEND_THREADS). */
  threads: number;
  /** Children alive at once. */
  concurrency: number;
}

export class RunProcessPool {
  private readonly processes = new Set<RunProcess>();

  constructor(private readonly options: RunProcessOptions) {}

  /** An idle process with this setup, or a new one; marked busy. */
  acquire(setup: ChildSetup): RunProcess {
    const key = JSON.stringify(setup);
    const idle = [...this.processes].find((p) => !p.busy && p.key === key);
    if (idle) {
      idle.busy = true;
      return idle;
    }
    const others = [...this.processes].filter((p) => !p.busy);
    if (this.processes.size >= this.options.concurrency && others[0]) {
      others[0].child.send({ type: 'exit' } satisfies ToChild);
      this.processes.delete(others[0]);
    }
    const p = this.start(setup, key);
    p.busy = true;
    return p;
  }

  /** Back to idle, when its run ended with the process healthy (its handlers still set). */
  release(p: RunProcess): void {
    if (!p.onMessage) return;
    p.onMessage = undefined;
    p.onExit = undefined;
    p.busy = false;
  }

  /** Forgets the process and kills it if it still lives (its run is lost or it misbehaved). */
  discard(p: RunProcess): void {
    this.processes.delete(p);
    p.onMessage = undefined;
    p.onExit = undefined;
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }

  /** Asks every busy process to stop its run (it saves a checkpoint first). */
  stopRuns(): void {
    for (const p of this.processes) if (p.busy) p.child.send({ type: 'stop' } satisfies ToChild);
  }

  /** Asks every process still connected to exit. */
  exitAll(): void {
    for (const p of [...this.processes]) {
      if (p.child.connected) p.child.send({ type: 'exit' } satisfies ToChild);
    }
  }

  private start(setup: ChildSetup, key: string): RunProcess {
    const child = fork(this.options.script, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv: this.options.execArgv,
      env: { ...process.env, TDX_BACKEND_THREADS: String(this.options.threads) },
    });
    let settle!: { resolve: (b: BackendInfo) => void; reject: (e: SerializedError) => void };
    const ready = new Promise<BackendInfo>((res, rej) => {
      settle = { resolve: res, reject: rej };
    });
    ready.catch(() => {});
    const p: RunProcess = { child, key, ready, busy: false };
    child.on('message', (message: FromChild) => {
      if (message.type === 'ready') settle.resolve(message.backend);
      else if (message.type === 'init-error') settle.reject(message.error);
      else p.onMessage?.(message);
    });
    child.on('exit', (code, signal) => {
      this.processes.delete(p);
      settle.reject({
        code: 'WORKER_FAILED',
        message: `the run process exited while starting (${signal ?? `code ${code}`})`,
      });
      p.onExit?.(code, signal);
    });
    child.send({ type: 'init', setup } satisfies ToChild);
    this.processes.add(p);
    return p;
  }
}
