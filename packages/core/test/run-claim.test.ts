/** Exclusive claims on run folders: one holder at a time, and a dead holder's claim recovered. */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  claimPath,
  claimsDir,
  describeHolder,
  tryClaimRun,
  type ClaimHolder,
} from '../src/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tdx-claim-'));

/** The pid of a process that has exited (so no process has it, for a while). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

function writeClaim(dir: string, id: string, holder: Partial<ClaimHolder>): void {
  const full: ClaimHolder = {
    pid: 1,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    token: 'theirs',
    ...holder,
  };
  const path = claimPath(dir, id);
  mkdirSync(claimsDir(dir), { recursive: true });
  writeFileSync(path, JSON.stringify(full));
}

describe('run claims', () => {
  it('give a run to one holder at a time, and say who holds it', () => {
    const dir = tmp();
    const first = tryClaimRun(dir, 'run-a', { owner: 'tdx run' });
    expect(first.claimed).toBe(true);
    if (!first.claimed) return;
    const stored = JSON.parse(readFileSync(claimPath(dir, 'run-a'), 'utf8')) as ClaimHolder;
    expect(stored).toMatchObject({ pid: process.pid, hostname: hostname(), owner: 'tdx run' });

    // The same process asking again (a second runExperiment in it) is refused too.
    const second = tryClaimRun(dir, 'run-a');
    expect(second).toMatchObject({ claimed: false, holder: { pid: process.pid } });
    expect(describeHolder(second.claimed ? undefined : second.holder)).toContain(
      `process ${process.pid} (tdx run), since`,
    );
    // Another run is free.
    expect(tryClaimRun(dir, 'run-b').claimed).toBe(true);

    first.claim.release();
    expect(existsSync(claimPath(dir, 'run-a'))).toBe(false);
    expect(tryClaimRun(dir, 'run-a').claimed).toBe(true);
  });

  it('take over the claim of a process that died on this host', () => {
    const dir = tmp();
    const pid = deadPid();
    writeClaim(dir, 'run-a', { pid });
    const outcome = tryClaimRun(dir, 'run-a');
    expect(outcome.claimed).toBe(true);
    if (outcome.claimed) expect(outcome.tookOverFrom?.pid).toBe(pid);
  });

  it('take over a claim whose pid now belongs to a younger process', () => {
    const dir = tmp();
    // This process is alive, but it is not the one that took the claim: its start time differs.
    writeClaim(dir, 'run-a', { pid: process.ppid, processStart: '1' });
    const outcome = tryClaimRun(dir, 'run-a');
    const procAvailable = existsSync(`/proc/${process.ppid}/stat`);
    expect(outcome.claimed).toBe(procAvailable);
  });

  it('leave a live process its claim, and trust another host until its claim goes stale', () => {
    const dir = tmp();
    writeClaim(dir, 'run-a', { pid: process.ppid });
    expect(tryClaimRun(dir, 'run-a').claimed).toBe(false);

    writeClaim(dir, 'run-b', { hostname: 'another-host', pid: 1 });
    expect(tryClaimRun(dir, 'run-b', { staleAfterMs: 60_000 }).claimed).toBe(false);
    const old = new Date(Date.now() - 120_000);
    utimesSync(claimPath(dir, 'run-b'), old, old);
    expect(tryClaimRun(dir, 'run-b', { staleAfterMs: 60_000 }).claimed).toBe(true);
  });

  it('never remove a claim that is not its own', () => {
    const dir = tmp();
    const mine = tryClaimRun(dir, 'run-a');
    if (!mine.claimed) throw new Error('not claimed');
    // Someone took it over (wrongly, say): releasing ours must leave theirs.
    writeFileSync(
      claimPath(dir, 'run-a'),
      JSON.stringify({ pid: 1, hostname: hostname(), startedAt: 'x', token: 'theirs' }),
    );
    mine.claim.release();
    expect(existsSync(claimPath(dir, 'run-a'))).toBe(true);
  });
});
