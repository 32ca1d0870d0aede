/**
 * The other end of an interpolation line (Goodfellow et al. 2015; Li et al. 2018, §3): the
 * run's initial parameters, or the saved parameters of another run.
 *
 * - Initial parameters: an AnalysisTarget cannot rebuild them (the model builder is not part of
 *   it), so the analysis records the trainable parameters when it runs at step 0 and keeps them
 *   for the rest of the run. It must therefore be scheduled at step 0 (`at: [0, ...]` or
 *   `every`); a run resumed from a checkpoint has lost them (interpolate towards another run's
 *   saved parameters instead, or run again from the start).
 * - Another run: its folder's checkpoint (`checkpoints/latest.json`, written by tdx with the
 *   trainer's `param:<block name>` arrays; after a completed run, the final parameters).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkpointPath, readCheckpoint, TdxError } from '@tdx/core';
import type { ParamSet } from '@tdx/tensor';

/** An endpoint: the trainable parameters there, flattened like ParamSet.flatten(). */
export interface Endpoint {
  values: Float32Array;
  /** Where it came from, for results. */
  source: { kind: 'initial'; step: 0 } | { kind: 'run'; path: string; runId: string; step: number };
}

/** Keeps the trainable parameters of step 0 for the rest of the run. */
export class InitialParameters {
  private saved: { names: string[]; values: Float32Array } | undefined;

  /** Records the parameters when `step` is 0 (again at a second step-0 evaluation). */
  observe(trainable: ParamSet, step: number): void {
    if (step === 0) this.saved = { names: trainable.names, values: trainable.flatten() };
  }

  get(trainable: ParamSet, step: number): Endpoint {
    if (!this.saved) {
      throw new TdxError(
        'INVALID_ARGUMENT',
        `loss-landscape: the direction 'initial' needs the parameters of step 0, but this run's first evaluation of the analysis was at step ${step}`,
        {
          hint:
            'schedule the analysis at step 0 as well (at: [0, ...], or every: K); ' +
            'a run resumed from a checkpoint has lost them: use { run: <folder of a run> } as the endpoint, or run again from the start',
        },
      );
    }
    if (this.saved.names.join('\n') !== trainable.names.join('\n')) {
      throw new TdxError(
        'SHAPE_MISMATCH',
        `loss-landscape: the trainable blocks changed since step 0 (${this.saved.names.join(', ')} then, ${trainable.names.join(', ')} now)`,
      );
    }
    return { values: this.saved.values, source: { kind: 'initial', step: 0 } };
  }
}

/**
 * The trainable parameters saved in another run's folder (its checkpoint), checked block by
 * block against this run's names and shapes.
 */
export function readRunEndpoint(path: string, trainable: ParamSet): Endpoint {
  const dir = resolve(path);
  const runFile = join(dir, 'run.json');
  const layout = 'a run folder holds run.json and checkpoints/latest.json (runs/<spec>/<run id>/)';
  if (!existsSync(runFile)) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `loss-landscape: ${dir} is not a run folder (no run.json)`,
      {
        hint: layout,
      },
    );
  }
  let runId: string;
  try {
    runId = String((JSON.parse(readFileSync(runFile, 'utf8')) as { id: unknown }).id);
  } catch (error) {
    throw new TdxError('IO', `loss-landscape: cannot read ${runFile}: ${(error as Error).message}`);
  }
  const checkpoint = readCheckpoint(dir, runId);
  if (!checkpoint) {
    throw new TdxError('INVALID_ARGUMENT', `loss-landscape: the run ${dir} has no checkpoint`, {
      hint: `expected ${checkpointPath(dir)}; tdx writes it during training and at the end of a completed run`,
    });
  }
  const values = new Float32Array(trainable.size);
  let offset = 0;
  for (const block of trainable.blocks) {
    const array = checkpoint.arrays[`param:${block.name}`];
    if (!array) {
      throw new TdxError(
        'SHAPE_MISMATCH',
        `loss-landscape: the checkpoint of ${dir} has no parameter block "${block.name}"`,
        {
          hint: `its blocks: ${Object.keys(checkpoint.arrays)
            .filter((k) => k.startsWith('param:'))
            .map((k) => k.slice(6))
            .join(', ')}; the other run must use the same model`,
        },
      );
    }
    if (array.shape.join(',') !== block.shape.join(',')) {
      throw new TdxError(
        'SHAPE_MISMATCH',
        `loss-landscape: block "${block.name}" has shape [${array.shape}] in ${dir}, [${block.shape}] here`,
        { hint: 'the other run must use the same model and dataset sizes' },
      );
    }
    values.set(array.values, offset);
    offset += block.size;
  }
  return { values, source: { kind: 'run', path: dir, runId, step: checkpoint.step } };
}
