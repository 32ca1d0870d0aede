/**
 * The store's rules, against a real Redis: one epoch writes at a time, a live lease keeps
 * others out, a superseded worker's writes are refused, and readers see whole files.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RunStore, type FileOp } from '../src/index.js';
import { describeWithRedis, startRedis, type TestRedis } from './support.js';

const b = (text: string) => Buffer.from(text);

describeWithRedis('the run store', () => {
  let server: TestRedis;
  let redis: Redis;
  let store: RunStore;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    store = new RunStore(redis, 'test');
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('gives a run to one worker at a time and refuses the writes of one that was superseded', async () => {
    expect(await store.submit('r1', { name: 'x' }, [])).toBe(true);
    expect(await store.submit('r1', { name: 'x' }, [])).toBe(false);
    const first = await store.claim('r1', 'A', 300);
    expect(first).toMatchObject({ outcome: 'claimed', epoch: 1, files: [] });
    // A's lease is live: B must wait.
    const busy = await store.claim('r1', 'B', 300);
    expect(busy.outcome).toBe('busy');
    expect(busy.outcome === 'busy' && busy.retryMs).toBeGreaterThan(0);
    expect(
      await store.sync('r1', 1, [{ op: 'write', path: 'metrics.jsonl', data: b('a\n') }], []),
    ).toBe(true);
    // A stops renewing (it died, or is frozen); its lease runs out and B claims the run.
    await new Promise((r) => setTimeout(r, 350));
    const second = await store.claim('r1', 'B', 5000);
    expect(second.outcome).toBe('claimed');
    if (second.outcome !== 'claimed') return;
    expect(second.epoch).toBe(2);
    expect(second.files.map((f) => [f.path, f.data.toString()])).toEqual([
      ['metrics.jsonl', 'a\n'],
    ]);
    // A comes back: every write it tries is refused, and the run stays B's.
    expect(await store.renew('r1', 1, 5000)).toBe(false);
    expect(
      await store.sync(
        'r1',
        1,
        [{ op: 'append', path: 'metrics.jsonl', offset: 2, data: b('A\n') }],
        [],
      ),
    ).toBe(false);
    const result = {
      id: 'r1',
      label: 'r1',
      dir: '/x',
      status: 'completed' as const,
      steps: 1,
      wallMs: 1,
    };
    expect(await store.end('r1', 1, result, {})).toBe(false);
    expect(await store.release('r1', 1)).toBe(false);
    expect(
      await store.sync(
        'r1',
        2,
        [{ op: 'append', path: 'metrics.jsonl', offset: 2, data: b('B\n') }],
        [{ type: 'x' }],
      ),
    ).toBe(true);
    expect(await store.end('r1', 2, result, { type: 'run-end' })).toBe(true);
    expect((await store.record('r1'))?.state).toBe('ended');
    // Ended: a late delivery of the job finds nothing to do.
    expect((await store.claim('r1', 'C', 5000)).outcome).toBe('ended');
    const snapshot = await store.snapshot('r1', new Map());
    expect(snapshot?.changed.map((c) => [c.path, c.data.toString()])).toEqual([
      ['metrics.jsonl', 'a\nB\n'],
    ]);
    expect(snapshot?.record.result).toEqual(result);
    const events = await redis.xrange(store.keys('r1').events, '-', '+');
    expect(events.map(([, f]) => JSON.parse(f[1]!).type)).toEqual(['x', 'run-end']);
    await store.discard('r1');
    expect(await store.record('r1')).toBeUndefined();
    expect(await redis.keys('test:run:r1*')).toEqual([]);
    expect((await store.claim('r1', 'C', 5000)).outcome).toBe('missing');
  });

  it('gives readers only what changed: appended bytes, rewritten files, removed files', async () => {
    await store.submit('r2', {}, [{ path: 'spec.json', data: b('{}\n') }]);
    const c = await store.claim('r2', 'A', 5000);
    if (c.outcome !== 'claimed') throw new Error(c.outcome);
    const ops: FileOp[] = [
      { op: 'write', path: 'metrics.jsonl', data: b('1\n') },
      { op: 'write', path: 'analyses/a.json', data: b('[1]') },
    ];
    await store.sync('r2', c.epoch, ops, []);
    const known = new Map<string, { gen: number; length: number }>();
    const first = (await store.snapshot('r2', known))!;
    expect(first.changed.map((x) => [x.path, x.from, x.data.toString()]).sort()).toEqual([
      ['analyses/a.json', 0, '[1]'],
      ['metrics.jsonl', 0, '1\n'],
      ['spec.json', 0, '{}\n'],
    ]);
    for (const x of first.changed)
      known.set(x.path, { gen: x.gen, length: x.from + x.data.length });
    expect((await store.snapshot('r2', known))!.changed).toEqual([]);
    await store.sync(
      'r2',
      c.epoch,
      [
        { op: 'append', path: 'metrics.jsonl', offset: 2, data: b('2\n') },
        { op: 'write', path: 'analyses/a.json', data: b('[1,2]') },
        { op: 'remove', path: 'spec.json' },
      ],
      [],
    );
    const second = (await store.snapshot('r2', known))!;
    expect(second.changed.map((x) => [x.path, x.from, x.data.toString()]).sort()).toEqual([
      ['analyses/a.json', 0, '[1,2]'],
      ['metrics.jsonl', 2, '2\n'],
    ]);
    expect(second.removed).toEqual(['spec.json']);
    // An append that does not continue what the store holds is an error, not a silent gap.
    await expect(
      store.sync(
        'r2',
        c.epoch,
        [{ op: 'append', path: 'metrics.jsonl', offset: 1, data: b('x') }],
        [],
      ),
    ).rejects.toThrow(/TDXSYNC append to metrics.jsonl at 1, but it holds 4 bytes/);
    // A reset (a restart from scratch) removes every file; gens keep growing, so a reader
    // never takes a new file for the continuation of the old one.
    await store.sync(
      'r2',
      c.epoch,
      [{ op: 'reset' }, { op: 'write', path: 'metrics.jsonl', data: b('1\n2\n3\n') }],
      [],
    );
    const third = (await store.snapshot('r2', known))!;
    expect(third.changed.map((x) => [x.path, x.from, x.data.toString()])).toEqual([
      ['metrics.jsonl', 0, '1\n2\n3\n'],
    ]);
    expect(third.removed.sort()).toEqual(['analyses/a.json', 'spec.json']);
  });

  it('gives a run back to the queue, keeping its files, and never takes unsafe paths', async () => {
    await store.submit('r3', {}, [{ path: 'checkpoints/latest.json', data: b('{"step":3}') }]);
    const c = await store.claim('r3', 'A', 60_000);
    if (c.outcome !== 'claimed') throw new Error(c.outcome);
    expect(await store.release('r3', c.epoch)).toBe(true);
    // Released: no lease to wait for.
    const again = await store.claim('r3', 'B', 60_000);
    expect(again).toMatchObject({ outcome: 'claimed', epoch: 2 });
    await redis.hset(store.keys('r3').meta, '../../etc/x', '99:1');
    await redis.set(`${store.keys('r3').files}../../etc/x`, 'x');
    expect((await store.snapshot('r3', new Map()))!.changed.map((x) => x.path)).toEqual([
      'checkpoints/latest.json',
    ]);
  });
});
