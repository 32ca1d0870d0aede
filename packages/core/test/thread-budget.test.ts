import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { childEnvironment, ownThreads } from '../src/pool/thread-budget.js';

describe('thread budget', () => {
  const saved = process.env.TDX_BACKEND_THREADS;
  afterEach(() => {
    if (saved === undefined) delete process.env.TDX_BACKEND_THREADS;
    else process.env.TDX_BACKEND_THREADS = saved;
  });

  it('gives each child its share of this process’s cores, at least one', () => {
    process.env.TDX_BACKEND_THREADS = '8';
    expect(ownThreads()).toBe(8);
    expect(childEnvironment(2).TDX_BACKEND_THREADS).toBe('4');
    expect(childEnvironment(3).TDX_BACKEND_THREADS).toBe('2');
    expect(childEnvironment(16).TDX_BACKEND_THREADS).toBe('1');
    // A child of a child divides its parent's share, not the machine's.
    process.env.TDX_BACKEND_THREADS = childEnvironment(2).TDX_BACKEND_THREADS;
    expect(childEnvironment(2).TDX_BACKEND_THREADS).toBe('2');
  });

  it('uses every core when no parent set a share', () => {
    delete process.env.TDX_BACKEND_THREADS;
    expect(ownThreads()).toBe(availableParallelism());
    expect(childEnvironment(1).TDX_BACKEND_THREADS).toBe(String(availableParallelism()));
  });
});
