/**
 * Cores for the child processes of a pool, so that processes × threads never exceeds the cores
 * this process may use: a backend with its own thread pool (TensorFlow's intra-op pool) reads
 * TDX_BACKEND_THREADS in each child. Run workers share the machine's cores; analysis workers
 * share their run's.
 */
import { availableParallelism } from 'node:os';

/** The cores this process may use: TDX_BACKEND_THREADS when a parent set it, else all. */
export function ownThreads(): number {
  const set = Number(process.env.TDX_BACKEND_THREADS);
  return Number.isFinite(set) && set >= 1 ? Math.floor(set) : availableParallelism();
}

/** The environment of each of `processes` children running at once. */
export function childEnvironment(processes: number): NodeJS.ProcessEnv {
  const threads = Math.max(1, Math.floor(ownThreads() / Math.max(1, processes)));
  return { ...process.env, TDX_BACKEND_THREADS: String(threads) };
}
