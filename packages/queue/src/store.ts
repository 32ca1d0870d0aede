/**
 * What Redis holds for each run on the queue, next to BullMQ's job: the run's folder as the
 * worker executing it last wrote it, its events, and who may write it. Every change is one Lua
 * script, so it happens whole or not at all.
 *
 *   <prefix>:run:<key>            hash: state (queued | running | ended), epoch, gen, owner,
 *                                 result (the RunResult once ended), name, runId, label
 *   <prefix>:run:<key>:lease      the epoch of the worker executing the run, expiring unless renewed
 *   <prefix>:run:<key>:meta       hash: file path -> "<gen>:<length>" (gen changes on each rewrite)
 *   <prefix>:run:<key>:file:<p>   the content of file <p> of the run's folder
 *   <prefix>:run:<key>:events     stream of the run's events (JSON), capped
 *
 * Exactly once: a worker claims the run (claim), which increments the epoch and takes the lease;
 * every later write (sync, end, release, renew) names that epoch and is refused once another
 * claim has happened, so output of a worker that was presumed lost never lands. A claim is
 * refused while another worker's lease is live: the holder renews it, and stops computing when
 * it cannot (see worker.ts), so two workers never compute one run at once either.
 *
 * The folder in Redis is always one that executeRun left on disk at some moment (a sync carries
 * every change since the previous one), so any of them can be resumed from, exactly like a
 * folder after a crash. Metrics lines travel as appends, other files whole.
 */
import type { Redis } from 'ioredis';
import type { RunResult } from '@tdx/core';

/** One change to a run's folder. Paths are relative, with `/`. */
export type FileOp =
  | { op: 'write'; path: string; data: Buffer }
  | { op: 'append'; path: string; offset: number; data: Buffer }
  | { op: 'remove'; path: string }
  /** Removes every file (a run restarted from scratch: nothing of the earlier attempt stays). */
  | { op: 'reset' };

/** A file of a run as the store holds it. */
export interface StoredFile {
  path: string;
  gen: number;
  data: Buffer;
}

export type ClaimOutcome =
  | { outcome: 'claimed'; epoch: number; files: StoredFile[] }
  /** Another worker's lease is live for this much longer. */
  | { outcome: 'busy'; retryMs: number }
  /** The run finished already (a duplicate delivery), or is not on the queue at all. */
  | { outcome: 'ended' }
  | { outcome: 'missing' };

export type RunState = 'queued' | 'running' | 'ended';

export interface RunRecord {
  state: RunState;
  epoch: number;
  owner?: string;
  result?: RunResult;
}

/** What a reader knows of a file already: the gen and length it copied. */
export interface KnownFile {
  gen: number;
  length: number;
}

/** The changes since what a reader knows, read atomically with the run's state. */
export interface Snapshot {
  record: RunRecord;
  /** `data` is the whole file (`from` 0) or the bytes from `from` on (an append). */
  changed: Array<{ path: string; gen: number; from: number; data: Buffer }>;
  /** Files the reader knows that are gone. */
  removed: string[];
}

const CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state == 'ended' then return {'ended'} end
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then return {'busy', tostring(ttl)} end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'state', 'running', 'owner', ARGV[1])
redis.call('SET', KEYS[2], epoch, 'PX', ARGV[2])
local out = {'claimed', tostring(epoch)}
local meta = redis.call('HGETALL', KEYS[3])
for i = 1, #meta, 2 do
  out[#out + 1] = meta[i]
  out[#out + 1] = meta[i + 1]
  out[#out + 1] = redis.call('GET', ARGV[3] .. meta[i]) or ''
end
return out
`;

const RENEW = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
`;

// ARGV: epoch, file prefix, events cap, number of ops, then (kind, path, offset, data) per op,
// then one JSON event per remaining argument.
const SYNC = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
local n = tonumber(ARGV[4])
local i = 5
for k = 1, n do
  local kind, path, offset, data = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  if kind == 'write' then
    local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
    redis.call('SET', ARGV[2] .. path, data)
    redis.call('HSET', KEYS[2], path, gen .. ':' .. #data)
  elseif kind == 'append' then
    local meta = redis.call('HGET', KEYS[2], path)
    if not meta then return redis.error_reply('TDXSYNC append to ' .. path .. ', which the store does not hold') end
    local gen, len = string.match(meta, '^(%d+):(%d+)$')
    if tonumber(len) ~= tonumber(offset) then
      return redis.error_reply('TDXSYNC append to ' .. path .. ' at ' .. offset .. ', but it holds ' .. len .. ' bytes')
    end
    local now = redis.call('APPEND', ARGV[2] .. path, data)
    redis.call('HSET', KEYS[2], path, gen .. ':' .. now)
  elseif kind == 'remove' then
    redis.call('DEL', ARGV[2] .. path)
    redis.call('HDEL', KEYS[2], path)
  elseif kind == 'reset' then
    for _, p in ipairs(redis.call('HKEYS', KEYS[2])) do redis.call('DEL', ARGV[2] .. p) end
    redis.call('DEL', KEYS[2])
  end
end
for j = i, #ARGV do
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[j])
end
return 1
`;

// ARGV: epoch, result JSON, events cap, the run-end event.
const END = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'ended', 'result', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[4])
return 1
`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'queued')
redis.call('HDEL', KEYS[1], 'owner')
redis.call('DEL', KEYS[2])
return 1
`;

// ARGV: file prefix, number of info pairs, (field, value)..., then (path, data) per file.
const SUBMIT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'queued', 'epoch', 0, 'gen', 0)
local n = tonumber(ARGV[2])
local i = 3
for k = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
  redis.call('SET', ARGV[1] .. ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[2], ARGV[i], gen .. ':' .. #ARGV[i + 1])
  i = i + 2
end
return 1
`;

// ARGV: file prefix, then (path, gen, length) per file the reader knows.
const SNAPSHOT = `
local rec = redis.call('HMGET', KEYS[1], 'state', 'epoch', 'owner', 'result')
if not rec[1] then return {} end
local out = {{rec[1], rec[2] or '0', rec[3] or '', rec[4] or ''}}
local known = {}
for i = 2, #ARGV, 3 do known[ARGV[i]] = {ARGV[i + 1], tonumber(ARGV[i + 2])} end
local changed = {}
local meta = redis.call('HGETALL', KEYS[2])
for i = 1, #meta, 2 do
  local path = meta[i]
  local gen, len = string.match(meta[i + 1], '^(%d+):(%d+)$')
  len = tonumber(len)
  local k = known[path]
  known[path] = nil
  if not k or k[1] ~= gen or k[2] > len then
    changed[#changed + 1] = {path, gen, '0', redis.call('GET', ARGV[1] .. path) or ''}
  elseif k[2] < len then
    changed[#changed + 1] = {path, gen, tostring(k[2]), redis.call('GETRANGE', ARGV[1] .. path, k[2], len - 1)}
  end
end
out[2] = changed
local removed = {}
for path, _ in pairs(known) do removed[#removed + 1] = path end
out[3] = removed
return out
`;

const DISCARD = `
for _, p in ipairs(redis.call('HKEYS', KEYS[2])) do redis.call('DEL', ARGV[1] .. p) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 1
`;

/** How many events a run's stream keeps (older ones are trimmed). */
const EVENTS_CAP = 2000;

type Reply = Buffer | Reply[] | number | null;

interface Scripts {
  tdxClaimBuffer(...args: Array<string | number | Buffer>): Promise<Reply[]>;
  tdxRenew(...args: Array<string | number>): Promise<number>;
  tdxSync(...args: Array<string | number | Buffer>): Promise<number>;
  tdxEnd(...args: Array<string | number>): Promise<number>;
  tdxRelease(...args: Array<string | number>): Promise<number>;
  tdxSubmit(...args: Array<string | number | Buffer>): Promise<number>;
  tdxSnapshotBuffer(...args: Array<string | number>): Promise<Reply[]>;
  tdxDiscard(...args: Array<string | number>): Promise<number>;
}

const SCRIPTS: Record<string, [number, string]> = {
  tdxClaim: [3, CLAIM],
  tdxRenew: [2, RENEW],
  tdxSync: [3, SYNC],
  tdxEnd: [3, END],
  tdxRelease: [2, RELEASE],
  tdxSubmit: [2, SUBMIT],
  tdxSnapshot: [2, SNAPSHOT],
  tdxDiscard: [4, DISCARD],
};

const text = (b: Reply | undefined): string => (Buffer.isBuffer(b) ? b.toString('utf8') : '');

/** A path inside a run folder: relative, no `..`, names of safe characters only. */
export function isSafeRunPath(path: string): boolean {
  const parts = path.split('/');
  return (
    path.length > 0 &&
    path.length <= 1000 &&
    parts.every((p) => p !== '' && p !== '.' && p !== '..' && /^[A-Za-z0-9._=+,@-]+$/.test(p))
  );
}

export class RunStore {
  private readonly scripts: Scripts;

  /** `redis` must be a connection of its own use or shared; `prefix` namespaces every key. */
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS))
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
    this.scripts = redis as unknown as Scripts;
  }

  keys(key: string) {
    const base = `${this.prefix}:run:${key}`;
    return {
      record: base,
      lease: `${base}:lease`,
      meta: `${base}:meta`,
      files: `${base}:file:`,
      events: `${base}:events`,
    };
  }

  /**
   * Puts a run on the store with its folder's files (those of a run to resume; none for a new
   * one). False when the store holds the run already (it is queued, running or ended).
   */
  async submit(
    key: string,
    info: Record<string, string>,
    files: Array<{ path: string; data: Buffer }>,
  ): Promise<boolean> {
    const k = this.keys(key);
    const pairs = Object.entries(info).flat();
    const filesArgs = files.flatMap((f) => [f.path, f.data]);
    return (
      (await this.scripts.tdxSubmit(
        k.record,
        k.meta,
        k.files,
        pairs.length / 2,
        ...pairs,
        ...filesArgs,
      )) === 1
    );
  }

  /** Takes the run for `owner` (epoch + 1, lease for `leaseMs`), with its files. */
  async claim(key: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    const k = this.keys(key);
    const reply = await this.scripts.tdxClaimBuffer(
      k.record,
      k.lease,
      k.meta,
      owner,
      Math.ceil(leaseMs),
      k.files,
    );
    const outcome = text(reply[0]);
    if (outcome === 'busy') return { outcome, retryMs: Number(text(reply[1])) };
    if (outcome !== 'claimed') return { outcome: outcome === 'ended' ? 'ended' : 'missing' };
    const files: StoredFile[] = [];
    for (let i = 2; i < reply.length; i += 3) {
      const path = text(reply[i]);
      if (!isSafeRunPath(path)) continue;
      files.push({
        path,
        gen: Number(text(reply[i + 1]).split(':')[0]),
        data: reply[i + 2] as Buffer,
      });
    }
    return { outcome: 'claimed', epoch: Number(text(reply[1])), files };
  }

  /** Extends the lease of `epoch`; false when the run is no longer that epoch's. */
  async renew(key: string, epoch: number, leaseMs: number): Promise<boolean> {
    const k = this.keys(key);
    return (await this.scripts.tdxRenew(k.record, k.lease, epoch, Math.ceil(leaseMs))) === 1;
  }

  /** Applies folder changes and adds events, if the run is still `epoch`'s (else false). */
  async sync(key: string, epoch: number, ops: FileOp[], events: unknown[]): Promise<boolean> {
    const k = this.keys(key);
    const args: Array<string | number | Buffer> = [];
    for (const op of ops) {
      if (op.op === 'reset') args.push('reset', '', 0, '');
      else if (op.op === 'remove') args.push('remove', op.path, 0, '');
      else args.push(op.op, op.path, op.op === 'append' ? op.offset : 0, op.data);
    }
    return (
      (await this.scripts.tdxSync(
        k.record,
        k.meta,
        k.events,
        epoch,
        k.files,
        EVENTS_CAP,
        ops.length,
        ...args,
        ...events.map((e) => JSON.stringify(e)),
      )) === 1
    );
  }

  /** Marks the run ended with its result, if it is still `epoch`'s (else false). */
  async end(key: string, epoch: number, result: RunResult, event: unknown): Promise<boolean> {
    const k = this.keys(key);
    return (
      (await this.scripts.tdxEnd(
        k.record,
        k.lease,
        k.events,
        epoch,
        JSON.stringify(result),
        EVENTS_CAP,
        JSON.stringify(event),
      )) === 1
    );
  }

  /** Gives the run back to the queue (its folder stays, to resume from), if still `epoch`'s. */
  async release(key: string, epoch: number): Promise<boolean> {
    const k = this.keys(key);
    return (await this.scripts.tdxRelease(k.record, k.lease, epoch)) === 1;
  }

  /** The run's state and the changes to its files since `known`; undefined when not stored. */
  async snapshot(
    key: string,
    known: ReadonlyMap<string, KnownFile>,
  ): Promise<Snapshot | undefined> {
    const k = this.keys(key);
    const args = [...known].flatMap(([path, f]) => [path, String(f.gen), String(f.length)]);
    const reply = await this.scripts.tdxSnapshotBuffer(k.record, k.meta, k.files, ...args);
    if (reply.length === 0) return undefined;
    const [state, epoch, owner, result] = (reply[0] as Reply[]).map(text);
    const record: RunRecord = {
      state: state as RunState,
      epoch: Number(epoch),
      ...(owner ? { owner } : {}),
      ...(result ? { result: JSON.parse(result) as RunResult } : {}),
    };
    const changed = ((reply[1] as Reply[]) ?? []).flatMap((entry) => {
      const [path, gen, from, data] = entry as Reply[];
      const p = text(path);
      return isSafeRunPath(p)
        ? [{ path: p, gen: Number(text(gen)), from: Number(text(from)), data: data as Buffer }]
        : [];
    });
    const removed = ((reply[2] as Reply[]) ?? []).map(text);
    return { record, changed, removed };
  }

  /** The run's state, or undefined when the store does not hold it. */
  async record(key: string): Promise<RunRecord | undefined> {
    const [state, epoch, owner, result] = await this.redis.hmget(
      this.keys(key).record,
      'state',
      'epoch',
      'owner',
      'result',
    );
    if (!state) return undefined;
    return {
      state: state as RunState,
      epoch: Number(epoch ?? 0),
      ...(owner ? { owner } : {}),
      ...(result ? { result: JSON.parse(result) as RunResult } : {}),
    };
  }

  /** Removes everything the store holds of the run. */
  async discard(key: string): Promise<void> {
    const k = this.keys(key);
    await this.scripts.tdxDiscard(k.record, k.meta, k.lease, k.events, k.files);
  }
}
