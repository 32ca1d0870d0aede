/**
 * An exclusive claim on a run folder, so that two `tdx run` processes (or two workers of a
 * distributed executor) never execute the same run at once, and neither moves aside a folder
 * the other is writing.
 *
 *   <experiment dir>/.claims/<run id>.json    { pid, hostname, startedAt, processStart, ... }
 *
 * The claim file is created atomically (written to a temporary file, then hard-linked to its
 * name, which fails if the name exists; O_EXCL where links are not supported), so exactly one
 * process holds it. The holder refreshes its modification time while it works and removes it
 * when done. A claim left by a process that died (a crash, SIGKILL) is stale and is taken over:
 * on the same host when its process is gone (or its pid now belongs to a younger process), on
 * another host when it has not been refreshed for `staleAfterMs`. Taking over goes through a
 * second exclusive file, so two processes never both remove a stale claim and both take it.
 */
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ioError } from './run-directory.js';

/** Who holds a claim, as written in its file. */
export interface ClaimHolder {
  pid: number;
  hostname: string;
  /** When the claim was taken (ISO time). */
  startedAt: string;
  /** The holder's process start time from /proc (Linux), to tell a reused pid from its owner. */
  processStart?: string;
  /** Free-form: what the holder is (`tdx run`, a worker's name). */
  owner?: string;
  /** Random: tells this claim from a later one of the same process. */
  token: string;
}

export interface ClaimOptions {
  /** Written into the claim so that others can say who holds it. */
  owner?: string;
  /**
   * A claim from another host not refreshed for this long is stale (default 10 minutes; the
   * holder refreshes it every `staleAfterMs / 4`). Same-host claims are checked by process.
   */
  staleAfterMs?: number;
}

/** A claim this process holds. */
export interface RunClaim {
  readonly path: string;
  readonly holder: ClaimHolder;
  /** Gives the claim up (idempotent). */
  release(): void;
}

export type ClaimOutcome =
  | { claimed: true; claim: RunClaim; tookOverFrom?: ClaimHolder }
  | { claimed: false; holder: ClaimHolder | undefined };

const DEFAULT_STALE_MS = 10 * 60 * 1000;
/** A claim file that is empty or unreadable this long after it was written is stale. */
const UNREADABLE_GRACE_MS = 10_000;

export const claimsDir = (experimentDir: string): string => join(experimentDir, '.claims');
export const claimPath = (experimentDir: string, runId: string): string =>
  join(claimsDir(experimentDir), `${runId}.json`);

/** The start time of a process (Linux /proc), or undefined where it cannot be read. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 of the whole line: starttime
  } catch {
    return undefined;
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** True when the claim's holder is certainly gone. */
function isStale(holder: ClaimHolder | undefined, path: string, staleAfterMs: number): boolean {
  let ageMs: number;
  try {
    ageMs = Date.now() - statSync(path).mtimeMs;
  } catch {
    return false; // released meanwhile: try again
  }
  if (!holder) return ageMs > UNREADABLE_GRACE_MS;
  if (holder.hostname !== hostname()) return ageMs > staleAfterMs;
  if (holder.pid === process.pid) return false;
  if (!processIsAlive(holder.pid)) return true;
  // The pid is in use: by the holder, or by a younger process that reused it.
  const start = processStartTime(holder.pid);
  return holder.processStart !== undefined && start !== undefined && start !== holder.processStart;
}

function readHolder(path: string): ClaimHolder | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as ClaimHolder;
    return typeof value.pid === 'number' && typeof value.hostname === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `path` holding `text` if it does not exist; false if it does. Never half-written. */
function createExclusive(path: string, text: string): boolean {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).readUInt32BE()}`;
  writeFileSync(tmp, text);
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    // A file system without hard links: O_EXCL (the content follows the creation).
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (inner) {
      if ((inner as { code?: string }).code === 'EEXIST') return false;
      throw inner;
    }
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return true;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

/** Removes a stale claim, unless another process is taking it over at the same moment. */
function removeStale(path: string, seen: string | undefined): void {
  const takeover = `${path}.takeover`;
  const text = JSON.stringify({ pid: process.pid, hostname: hostname() });
  if (!createExclusive(takeover, text)) {
    // Someone else is taking it over; a takeover file left by a crash expires.
    try {
      if (Date.now() - statSync(takeover).mtimeMs > UNREADABLE_GRACE_MS) unlinkSync(takeover);
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    let now: string | undefined;
    try {
      now = readFileSync(path, 'utf8');
    } catch {
      now = undefined;
    }
    // Only the claim that was judged stale is removed; a new one is left alone.
    if (now !== undefined && now === seen) unlinkSync(path);
  } finally {
    unlinkSync(takeover);
  }
}

/**
 * Tries to claim run `runId` of the experiment in `experimentDir`, without waiting. Returns the
 * claim, or who holds it. A stale claim (its holder died) is taken over.
 */
export function tryClaimRun(
  experimentDir: string,
  runId: string,
  options: ClaimOptions = {},
): ClaimOutcome {
  const path = claimPath(experimentDir, runId);
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_MS;
  try {
    mkdirSync(claimsDir(experimentDir), { recursive: true });
  } catch (error) {
    throw ioError(error, 'create the claims folder', claimsDir(experimentDir));
  }
  const holder: ClaimHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    ...(processStartTime(process.pid) ? { processStart: processStartTime(process.pid)! } : {}),
    ...(options.owner ? { owner: options.owner } : {}),
    token: randomBytes(8).toString('hex'),
  };
  let tookOverFrom: ClaimHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    let created: boolean;
    try {
      created = createExclusive(path, `${JSON.stringify(holder)}\n`);
    } catch (error) {
      throw ioError(error, 'create the claim', path);
    }
    if (created)
      return {
        claimed: true,
        claim: holdClaim(path, holder, staleAfterMs),
        ...(tookOverFrom ? { tookOverFrom } : {}),
      };
    let seen: string | undefined;
    try {
      seen = readFileSync(path, 'utf8');
    } catch {
      continue; // released meanwhile: try again
    }
    const current = readHolder(path);
    if (!isStale(current, path, staleAfterMs)) return { claimed: false, holder: current };
    tookOverFrom = current;
    removeStale(path, seen);
  }
  return { claimed: false, holder: readHolder(path) };
}

function holdClaim(path: string, holder: ClaimHolder, staleAfterMs: number): RunClaim {
  let released = false;
  // Refreshing the time tells processes on other hosts that the holder is alive.
  const refresh = setInterval(
    () => {
      try {
        const now = new Date();
        utimesSync(path, now, now);
      } catch {
        // A refresh that fails only makes the claim look older.
      }
    },
    Math.max(1000, staleAfterMs / 4),
  );
  refresh.unref();
  return {
    path,
    holder,
    release() {
      if (released) return;
      released = true;
      clearInterval(refresh);
      // Remove only our own claim (a claim judged stale by mistake may belong to another now).
      if (existsSync(path) && readHolder(path)?.token === holder.token) {
        try {
          unlinkSync(path);
        } catch {
          // Gone already.
        }
      }
    },
  };
}

/** Words for a claim's holder in messages: `process 1234 on host x (since 12:00:00)`. */
export function describeHolder(holder: ClaimHolder | undefined): string {
  if (!holder) return 'another process (its claim file is being written)';
  const self = holder.hostname === hostname() ? '' : ` on host ${holder.hostname}`;
  return `process ${holder.pid}${self}${holder.owner ? ` (${holder.owner})` : ''}, since ${holder.startedAt}`;
}
