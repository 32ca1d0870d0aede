/**
 * Checkpoints of a run: everything needed to continue exactly where it stopped. The trainer
 * provides the content (parameters, optimizer state, data-stream and RNG state); this file
 * stores it: written to a temporary file and renamed (never half-written), with a checksum
 * so that a damaged file is recognised rather than silently resumed from.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from './canonical-json.js';
import { TdxError } from './errors.js';
import { writeJsonAtomic } from './run-directory.js';

/** What a trainer saves and restores. `state` must be JSON; numeric arrays go in `arrays`. */
export interface SessionCheckpoint {
  arrays: Record<
    string,
    { shape: number[]; dtype: 'float32' | 'int32'; values: Float32Array | Int32Array }
  >;
  state: unknown;
}

export interface StoredCheckpoint extends SessionCheckpoint {
  /** The state the checkpoint holds: the parameters after `step` updates. */
  step: number;
  runId: string;
}

const FORMAT = 'tdx-checkpoint/1';

export const checkpointPath = (runDir: string): string =>
  join(runDir, 'checkpoints', 'latest.json');

function toBase64(values: Float32Array | Int32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function fromBase64(text: string, dtype: 'float32' | 'int32'): Float32Array | Int32Array {
  const bytes = Buffer.from(text, 'base64');
  const copy = new Uint8Array(bytes); // aligned copy for the typed array view
  return dtype === 'float32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
}

export function writeCheckpoint(runDir: string, checkpoint: StoredCheckpoint): void {
  const body = {
    format: FORMAT,
    runId: checkpoint.runId,
    step: checkpoint.step,
    arrays: Object.fromEntries(
      Object.entries(checkpoint.arrays).map(([name, a]) => [
        name,
        { shape: a.shape, dtype: a.dtype, data: toBase64(a.values) },
      ]),
    ),
    state: checkpoint.state,
  };
  const checksum = createHash('sha256').update(canonicalJson(body)).digest('hex');
  writeJsonAtomic(checkpointPath(runDir), {
    ...body,
    createdAt: new Date().toISOString(),
    checksum,
  });
}

/** The run's checkpoint, or undefined when it has none; CHECKPOINT_CORRUPT when it is damaged. */
export function readCheckpoint(runDir: string, runId: string): StoredCheckpoint | undefined {
  const path = checkpointPath(runDir);
  if (!existsSync(path)) return undefined;
  const corrupt = (why: string): never => {
    throw new TdxError('CHECKPOINT_CORRUPT', `the checkpoint ${path} is damaged: ${why}`, {
      hint:
        'nothing was changed; delete that file to run this run again from the start ' +
        '(its results so far stay where they are), or restore it from a backup',
    });
  };
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    return corrupt(`it is not valid JSON (${(error as Error).message})`);
  }
  const { checksum, createdAt: _createdAt, ...body } = stored;
  if (body.format !== FORMAT)
    corrupt(`unknown format ${JSON.stringify(body.format)}, expected ${FORMAT}`);
  if (createHash('sha256').update(canonicalJson(body)).digest('hex') !== checksum)
    corrupt('its checksum does not match its content');
  if (body.runId !== runId) corrupt(`it belongs to run ${String(body.runId)}, not ${runId}`);
  const arrays = body.arrays as Record<
    string,
    { shape: number[]; dtype: 'float32' | 'int32'; data: string }
  >;
  return {
    runId,
    step: body.step as number,
    state: body.state,
    arrays: Object.fromEntries(
      Object.entries(arrays).map(([name, a]) => {
        const values = fromBase64(a.data, a.dtype);
        if (values.length !== a.shape.reduce((p, d) => p * d, 1))
          corrupt(`array "${name}" has the wrong length`);
        return [name, { shape: a.shape, dtype: a.dtype, values }];
      }),
    ),
  };
}
