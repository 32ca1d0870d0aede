/**
 * What changed in a run folder since the last look, as file operations (store.ts's FileOp).
 * A worker executes a run in a scratch folder exactly as on a local disk and looks after each
 * event the run emits: the run's own writes are synchronous and whole (atomic renames, whole
 * metrics lines), so every look sees a folder the run could have crashed in, and the changes
 * since the previous look carry the store from one such folder to the next.
 *
 * A file replaced by a rename is a new file (new inode and birth time): it travels whole. A
 * file that grew in place (metrics.jsonl) travels as the bytes appended, after checking that
 * its earlier content is unchanged.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { listRunFiles as listFiles } from './local-folder.js';
import type { FileOp } from './store.js';

interface Seen {
  ino: bigint;
  birth: bigint;
  size: number;
  mtime: bigint;
  /** The last bytes before `size`, to check that an append left them alone. */
  tail: Buffer;
  /** sha256 of the whole content, where the file system has no birth times. */
  hash?: string;
}

const TAIL = 256;

function readRange(path: string, from: number, to: number): Buffer {
  const buffer = Buffer.alloc(to - from);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < buffer.length) {
      const n = readSync(fd, buffer, done, buffer.length - done, from + done);
      if (n === 0) break;
      done += n;
    }
    return done === buffer.length ? buffer : buffer.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

export class FolderWatch {
  private seen = new Map<string, Seen>();

  constructor(readonly dir: string) {}

  private look(path: string): { seen: Seen; data?: Buffer } | undefined {
    const full = join(this.dir, path);
    let stat;
    try {
      stat = statSync(full, { bigint: true });
    } catch {
      return undefined;
    }
    const size = Number(stat.size);
    const tail = size > 0 ? readRange(full, Math.max(0, size - TAIL), size) : Buffer.alloc(0);
    const seen: Seen = {
      ino: stat.ino,
      birth: stat.birthtimeNs,
      size,
      mtime: stat.mtimeNs,
      tail,
    };
    if (stat.birthtimeNs === 0n) {
      const data = readFileSync(full);
      seen.hash = createHash('sha256').update(data).digest('hex');
      return { seen, data };
    }
    return { seen };
  }

  /** Takes the folder as it is now as known (the files the store holds already). */
  baseline(): void {
    this.seen.clear();
    for (const path of listFiles(this.dir)) {
      const now = this.look(path);
      if (now) this.seen.set(path, now.seen);
    }
  }

  /** The changes since the last call (or the baseline). */
  changes(): FileOp[] {
    const ops: FileOp[] = [];
    const present = new Set(listFiles(this.dir));
    for (const path of present) {
      const now = this.look(path);
      if (!now) {
        present.delete(path);
        continue;
      }
      const before = this.seen.get(path);
      const s = now.seen;
      const full = join(this.dir, path);
      if (
        before &&
        before.ino === s.ino &&
        before.birth === s.birth &&
        before.size === s.size &&
        before.mtime === s.mtime &&
        before.hash === s.hash
      )
        continue;
      this.seen.set(path, s);
      const sameFile = before && before.ino === s.ino && before.birth === s.birth;
      if (before && sameFile && s.size > before.size && this.prefixKept(full, before, now.data)) {
        ops.push({
          op: 'append',
          path,
          offset: before.size,
          data: now.data ? now.data.subarray(before.size) : readRange(full, before.size, s.size),
        });
      } else {
        ops.push({ op: 'write', path, data: now.data ?? readFileSync(full) });
      }
    }
    for (const path of [...this.seen.keys()])
      if (!present.has(path)) {
        this.seen.delete(path);
        ops.push({ op: 'remove', path });
      }
    return ops;
  }

  /** Whether the first `before.size` bytes are as they were (the file only grew). */
  private prefixKept(full: string, before: Seen, data: Buffer | undefined): boolean {
    if (before.hash !== undefined) {
      if (!data) return false;
      return (
        createHash('sha256').update(data.subarray(0, before.size)).digest('hex') === before.hash
      );
    }
    const from = before.size - before.tail.length;
    return readRange(full, from, before.size).equals(before.tail);
  }
}
