/**
 * Files of a run: written so that a crash never leaves a half-written JSON file, metrics.jsonl
 * only ever grows by whole lines, and a failed write (a full disk, a folder that cannot be
 * written) leaves no temporary file behind and fails with an `IO` error that names the file.
 *
 * Reading is just as careful: a damaged line of metrics.jsonl is reported with its line number
 * and skipped, and the lines after it are still read.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TdxError, isTdxError } from './errors.js';

/** Why a file-system call failed, in words, from its error code. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EFBIG: 'the file is larger than this process may write',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file is in the way',
  EISDIR: 'it is a folder',
  ENAMETOOLONG: 'the name is too long for the file system',
  EIO: 'an input/output error of the device',
  EMFILE: 'too many open files',
  ENOENT: 'no such file or folder',
};

const HINTS: Record<string, string> = {
  ENOSPC:
    'free some space (or give --out on another disk) and run the same command again: finished runs are kept and interrupted ones resume',
  EDQUOT: 'free some space (or give --out on another disk) and run the same command again',
  EFBIG: 'raise the file-size limit (ulimit -f) or log less often (train.logEvery)',
  EACCES: 'choose a folder you can write to with --out, or fix its permissions',
  EPERM: 'choose a folder you can write to with --out, or fix its permissions',
  EROFS: 'choose a writable folder with --out',
  ENOTDIR: 'choose a folder with --out whose path does not go through a file',
  EEXIST: 'choose a folder with --out whose path does not go through a file',
  ENAMETOOLONG: 'use a shorter --out path or a shorter spec name',
};

/** The error code of a Node file-system error (`ENOSPC`), if it is one. */
export function fsErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** A file-system failure as an `IO` error naming what was being done to which file. */
export function ioError(error: unknown, action: string, path: string): TdxError {
  if (isTdxError(error)) return error;
  const code = fsErrorCode(error);
  const reason = code
    ? `${REASONS[code] ?? (error as Error).message} (${code})`
    : error instanceof Error
      ? error.message
      : String(error);
  return new TdxError('IO', `cannot ${action} ${path}: ${reason}`, {
    cause: error,
    hint: (code && HINTS[code]) ?? 'check that the results folder exists and can be written',
  });
}

/**
 * Test seam: `TDX_FAULT_WRITE=CODE:pattern` makes every write to a path matching the regular
 * expression `pattern` fail with that error code (`ENOSPC:adam-[0-9a-f]+/metrics`), as a full
 * disk would; `TDX_FAULT_WRITE=CODE` fails every write. Tests use it where a small file system
 * cannot be mounted.
 */
function injectedFault(path: string): void {
  const spec = process.env.TDX_FAULT_WRITE;
  if (!spec) return;
  const [code, pattern] = spec.split(/:(.*)/s);
  if (pattern && !new RegExp(pattern).test(path)) return;
  const error = new Error(`${code}: injected write failure, write '${path}'`) as Error & {
    code?: string;
  };
  error.code = code;
  throw error;
}

/**
 * Creates a folder and its missing parents, one at a time. (Node's recursive mkdir never
 * returns on some pseudo file systems, such as a path under /proc.)
 */
export function makeDirs(path: string): void {
  const missing: string[] = [];
  let dir = path;
  while (!existsSync(dir)) {
    missing.push(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (error) {
      if (fsErrorCode(error) !== 'EEXIST' || !statSync(d).isDirectory()) throw error;
    }
  }
  if (!statSync(path).isDirectory()) {
    const error = new Error(`ENOTDIR: not a directory, mkdir '${path}'`) as Error & {
      code: string;
    };
    error.code = 'ENOTDIR';
    throw error;
  }
}

let temporaries = 0;

/** The temporary file an atomic write goes through; `isTemporaryFile` recognises it. */
const temporaryFor = (path: string): string => `${path}.tmp-${process.pid}-${++temporaries}`;

/** True for a temporary file left by an interrupted atomic write (`x.json.tmp-123` or `-123-4`). */
export const isTemporaryFile = (name: string): boolean => /\.tmp-\d+(-\d+)?$/.test(name);

/**
 * Writes text to a temporary file and renames it over the target (atomic on one filesystem).
 * On failure the temporary file is removed, the target is left as it was, and an `IO` error
 * says which file and why.
 */
export function writeTextAtomic(path: string, text: string): void {
  try {
    makeDirs(dirname(path));
  } catch (error) {
    throw ioError(error, 'create the folder of', path);
  }
  const tmp = temporaryFor(path);
  try {
    injectedFault(path);
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {
      // It was never created, or it is gone already.
    }
    throw ioError(error, 'write', path);
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeTextAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** A JSON file read back: its value, or why it could not be read. */
export type JsonFile<T> = { value: T } | { damaged: string };

/** Reads a JSON file: undefined when it does not exist, `{ damaged }` when it cannot be parsed. */
export function readJsonFile<T = unknown>(path: string): JsonFile<T> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return { value: JSON.parse(readFileSync(path, 'utf8')) as T };
  } catch (error) {
    return { damaged: error instanceof Error ? error.message : String(error) };
  }
}

/** A JSON file's value; undefined when it is missing or damaged (see readJsonFile to tell). */
export function readJson<T = unknown>(path: string): T | undefined {
  const file = readJsonFile<T>(path);
  return file && 'value' in file ? file.value : undefined;
}

/** Appends one JSON record per line; a record is on disk whole or not at all. */
export class JsonlWriter {
  private fd: number | undefined;
  private size: number;

  constructor(readonly path: string) {
    try {
      makeDirs(dirname(path));
      this.fd = openSync(path, 'a');
      this.size = fstatSync(this.fd).size;
    } catch (error) {
      throw ioError(error, 'open', path);
    }
  }

  /**
   * Writes the record's line. If the write fails part-way (a full disk), the file is cut back
   * to its previous length, so a later resumption appends after a whole line.
   */
  append(record: Record<string, unknown>): void {
    if (this.fd === undefined)
      throw new TdxError('IO', `metrics file ${this.path} is already closed`);
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
    let written = 0;
    try {
      injectedFault(this.path);
      while (written < bytes.length)
        written += writeSync(this.fd, bytes, written, bytes.length - written);
    } catch (error) {
      try {
        if (written > 0) ftruncateSync(this.fd, this.size);
      } catch {
        // The line stays torn; readers report it by its line number and skip it.
      }
      throw ioError(error, 'append to', this.path);
    }
    this.size += bytes.length;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** A line of a JSONL file that could not be read as a record. */
export interface DamagedLine {
  /** 1-based line number. */
  line: number;
  /** Why: the parser's message, or what the record lacks. */
  reason: string;
  /** The line as it is in the file. */
  text: string;
}

/** Every line of a JSONL file: the records, and the lines that are not records. */
export interface JsonlContent {
  records: Array<Record<string, unknown>>;
  damaged: DamagedLine[];
  /** Every non-empty line in order, read or not, with its record when it is one. */
  lines: Array<{ line: number; text: string; record?: Record<string, unknown> }>;
  /** True when the file does not end with a newline: its last append was cut short. */
  unterminated: boolean;
}

/**
 * Reads a JSONL file line by line. A line that is not a JSON object (torn, garbled, cut) is
 * listed in `damaged` with its line number, and reading goes on: one bad line never hides the
 * lines after it. `requireStep` also counts an object without a numeric `step` as damaged.
 */
export function readJsonlFile(path: string, options: { requireStep?: boolean } = {}): JsonlContent {
  const content: JsonlContent = { records: [], damaged: [], lines: [], unterminated: false };
  if (!existsSync(path)) return content;
  const text = readFileSync(path, 'utf8');
  content.unterminated = text.length > 0 && !text.endsWith('\n');
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let reason: string | undefined;
    let record: Record<string, unknown> | undefined;
    try {
      const value: unknown = JSON.parse(line);
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        reason = 'not a JSON object';
      else if (options.requireStep && typeof (value as { step?: unknown }).step !== 'number')
        reason = 'no numeric "step"';
      else record = value as Record<string, unknown>;
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    content.lines.push({ line: i + 1, text: line, ...(record ? { record } : {}) });
    if (record) content.records.push(record);
    else content.damaged.push({ line: i + 1, reason: reason!, text: line });
  }
  return content;
}

/** The records of a JSONL file; damaged lines are skipped (readJsonlFile lists them). */
export function readJsonl(path: string): Array<Record<string, unknown>> {
  return readJsonlFile(path).records;
}

/**
 * Moves an existing run folder aside (never deletes it), returning where it went.
 * `<dir>.previous-<timestamp>` keeps earlier results next to the new run.
 */
export function moveAside(dir: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let target = `${dir}.previous-${stamp}`;
  for (let i = 1; existsSync(target); i++) target = `${dir}.previous-${stamp}-${i}`;
  try {
    renameSync(dir, target);
  } catch (error) {
    throw ioError(error, 'move aside', dir);
  }
  return target;
}

/**
 * Removes the temporary files that interrupted atomic writes left in a folder and its
 * subfolders (a write killed between creating its temporary file and renaming it). Only call
 * it on a folder no other process writes to (a claimed run folder). Returns what it removed.
 */
export function removeTemporaryFiles(dir: string): string[] {
  const removed: string[] = [];
  if (!existsSync(dir)) return removed;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removed.push(...removeTemporaryFiles(path));
    else if (isTemporaryFile(entry.name)) {
      try {
        unlinkSync(path);
        removed.push(path);
      } catch {
        // Gone already, or not ours to remove: leave it.
      }
    }
  }
  return removed;
}

/**
 * Folders a run left behind when it was restarted from scratch before its first checkpoint:
 * `<dir>.previous-*` holding no result.json and no checkpoint, so nothing a new run does not
 * compute again. They are removed; folders with results are kept. Returns what was removed.
 */
export function removeRestartedFolders(dir: string): string[] {
  const parent = dirname(dir);
  const prefix = `${basename(dir)}.previous-`;
  const removed: string[] = [];
  if (!existsSync(parent)) return removed;
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue;
    const path = join(parent, name);
    if (!holdsNoResults(path)) continue;
    try {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Leave it: it is only clutter.
    }
  }
  return removed;
}

/** True for a run folder with neither a result nor a checkpoint (nothing that cannot be redone). */
export function holdsNoResults(dir: string): boolean {
  return (
    !existsSync(join(dir, 'result.json')) &&
    !existsSync(join(dir, 'error.json')) &&
    !existsSync(join(dir, 'checkpoints', 'latest.json'))
  );
}
