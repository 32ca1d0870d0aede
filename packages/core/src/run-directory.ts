/**
 * Files of a run: written so that a crash never leaves a half-written JSON file and
 * metrics.jsonl only ever grows by whole lines.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { TdxError } from './errors.js';

/** Writes text to a temporary file and renames it over the target (atomic on one filesystem). */
export function writeTextAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeTextAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson<T = unknown>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Appends one JSON record per line, each with a single write call. */
export class JsonlWriter {
  private fd: number | undefined;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
  }

  append(record: Record<string, unknown>): void {
    if (this.fd === undefined)
      throw new TdxError('IO', `metrics file ${this.path} is already closed`);
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads a JSONL file, ignoring a torn last line. */
export function readJsonl(path: string): Array<Record<string, unknown>> {
  if (!existsSync(path)) return [];
  const out: Array<Record<string, unknown>> = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      break;
    }
  }
  return out;
}

/**
 * Moves an existing run folder aside (never deletes it), returning where it went.
 * `<dir>.previous-<timestamp>` keeps earlier results next to the new run.
 */
export function moveAside(dir: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let target = `${dir}.previous-${stamp}`;
  for (let i = 1; existsSync(target); i++) target = `${dir}.previous-${stamp}-${i}`;
  renameSync(dir, target);
  return target;
}
