/**
 * The changes of a run folder, as a worker sends them: each look must carry a copy of the
 * folder to exactly the folder on disk, whatever happened in between.
 */
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeJsonAtomic, writeTextAtomic } from '@tdx/core';
import { FolderWatch } from '../src/folder-watch.js';
import { listRunFiles } from '../src/local-folder.js';
import type { FileOp } from '../src/store.js';

/** Applies ops to an in-memory copy, as the store does (an append must continue the file). */
function apply(copy: Map<string, Buffer>, ops: FileOp[]): void {
  for (const op of ops) {
    if (op.op === 'reset') copy.clear();
    else if (op.op === 'remove') copy.delete(op.path);
    else if (op.op === 'write') copy.set(op.path, op.data);
    else {
      const before = copy.get(op.path);
      if (!before || before.length !== op.offset)
        throw new Error(`append to ${op.path} at ${op.offset}`);
      copy.set(op.path, Buffer.concat([before, op.data]));
    }
  }
}

const onDisk = (dir: string) =>
  new Map(listRunFiles(dir).map((p) => [p, readFileSync(join(dir, p))]));

describe('following a run folder', () => {
  it('sends appends as appends and rewrites whole, and the copy always equals the folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdx-watch-'));
    const watch = new FolderWatch(dir);
    watch.baseline();
    const copy = new Map<string, Buffer>();
    const look = () => {
      const ops = watch.changes();
      apply(copy, ops);
      expect(copy).toEqual(onDisk(dir));
      return ops;
    };
    writeTextAtomic(join(dir, 'metrics.jsonl'), '');
    writeJsonAtomic(join(dir, 'spec.json'), { a: 1 });
    expect(look().map((o) => o.op)).toEqual(['write', 'write']);
    appendFileSync(join(dir, 'metrics.jsonl'), '{"step":0}\n');
    appendFileSync(join(dir, 'metrics.jsonl'), '{"step":1}\n');
    const ops = look();
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ op: 'append', path: 'metrics.jsonl', offset: 0 });
    // Rewritten by a rename several times between two looks: inode numbers may come back,
    // the content must still travel whole.
    for (let i = 0; i < 5; i++) writeJsonAtomic(join(dir, 'analyses', 'a.json'), { records: [i] });
    look();
    for (let i = 5; i < 12; i++)
      writeJsonAtomic(join(dir, 'analyses', 'a.json'), { records: [i, i] });
    expect(look().map((o) => o.op)).toEqual(['write']);
    // Rewound in place (a resumed run rewrites metrics.jsonl shorter), then appended again.
    writeTextAtomic(join(dir, 'metrics.jsonl'), '{"step":0}\n');
    appendFileSync(join(dir, 'metrics.jsonl'), '{"step":1,"again":true}\n');
    expect(look().map((o) => o.op)).toEqual(['write']);
    // Moved aside (a damaged file), and a file written in place then changed in the middle.
    renameSync(join(dir, 'spec.json'), join(dir, 'spec.json.damaged-1'));
    writeFileSync(join(dir, 'notes.txt'), 'abcdef');
    look();
    writeFileSync(join(dir, 'notes.txt'), 'abXdefgh');
    const last = look();
    expect(last.find((o) => o.op !== 'remove' && 'path' in o && o.path === 'notes.txt')?.op).toBe(
      'write',
    );
    // Temporary files of atomic writes never travel.
    mkdirSync(dirname(join(dir, 'x')), { recursive: true });
    writeFileSync(join(dir, 'result.json.tmp-123-4'), 'partial');
    expect(look()).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
