/**
 * The submitter's side of a run folder: its files read to be uploaded (a run to resume), and
 * the store's changes written into it. Writes are whole (a temporary file renamed over the
 * target) or appends at a known length, so the folder is never half-written; result.json is
 * written last, so a folder is finished only once everything else is in it.
 */
import {
  closeSync,
  existsSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ioError, isTemporaryFile, makeDirs } from '@tdx/core';
import { isSafeRunPath, type KnownFile, type Snapshot } from './store.js';

/** Every regular file of a run folder (relative paths, `/`), temporary files left out. */
export function listRunFiles(dir: string, prefix = ''): string[] {
  let entries;
  try {
    entries = readdirSync(join(dir, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) return listRunFiles(dir, rel);
    return e.isFile() && !isTemporaryFile(e.name) && isSafeRunPath(rel) ? [rel] : [];
  });
}

/** The files of a run folder with their content. */
export function readRunFiles(dir: string): Array<{ path: string; data: Buffer }> {
  return listRunFiles(dir).map((path) => ({ path, data: readFileSync(join(dir, path)) }));
}

let temporaries = 0;

function writeWhole(path: string, data: Buffer): void {
  try {
    makeDirs(dirname(path));
  } catch (error) {
    throw ioError(error, 'create the folder of', path);
  }
  // The name core's run folders use for temporary files, so that a crash's leftover is tidied.
  const tmp = `${path}.tmp-${process.pid}-${++temporaries}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw ioError(error, 'write', path);
  }
}

/** Appends at `from`; false when the file is not `from` bytes long or more (read it whole). */
function writeAt(path: string, from: number, data: Buffer): boolean {
  if (!existsSync(path) || statSync(path).size < from) return false;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r+');
    ftruncateSync(fd, from);
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done, from + done);
    return true;
  } catch (error) {
    try {
      if (fd !== undefined) ftruncateSync(fd, from);
    } catch {
      // the line stays torn; a resumed run rewinds it
    }
    throw ioError(error, 'append to', path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const FINAL = ['error.json', 'result.json'];

/**
 * Writes the store's changes into the run folder `dir` and updates `known`. Without `final`,
 * result.json and error.json are left for later (they make the folder a finished run's).
 * Checkpoints go after the records, so the folder never holds a checkpoint newer than its
 * metrics (a local run resumed from it would miss lines). Returns whether files were left to
 * read whole (an append that did not fit what is on disk).
 */
export function applySnapshot(
  dir: string,
  snapshot: Snapshot,
  known: Map<string, KnownFile>,
  final: boolean,
): boolean {
  const rank = (path: string) =>
    FINAL.includes(path) ? 2 + FINAL.indexOf(path) : path.startsWith('checkpoints/') ? 1 : 0;
  const changes = snapshot.changed
    .filter((c) => final || !FINAL.includes(c.path))
    .sort((a, b) => rank(a.path) - rank(b.path));
  let again = false;
  for (const c of changes) {
    const path = join(dir, c.path);
    if (c.from === 0) writeWhole(path, c.data);
    else if (!writeAt(path, c.from, c.data)) {
      known.delete(c.path);
      again = true;
      continue;
    }
    known.set(c.path, { gen: c.gen, length: c.from + c.data.length });
  }
  for (const path of snapshot.removed) {
    known.delete(path);
    try {
      unlinkSync(join(dir, path));
    } catch {
      // gone already
    }
  }
  return again;
}
