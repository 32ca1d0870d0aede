/**
 * The directions of one landscape evaluation, over the trainable blocks: random (normalised),
 * the Hessian's top eigenvectors at the current point, or the line to an endpoint. Each comes
 * with what results should say about it.
 */
import { deriveSeed, TdxError } from '@tdx/core';
import { dot, norm, type AnalysisTarget, type Batch, type ParamSet } from '@tdx/tensor';
import { hessianOperator } from '../curvature/operators.js';
import { directionKind, type DirectionKind, type LossLandscapeConfig } from './config.js';
import { readRunEndpoint, type Endpoint, type InitialParameters } from './endpoints.js';
import { randomDirection, type BlockDirectionInfo } from './random-direction.js';
import { topEigenvectors } from './top-eigenvectors.js';

export interface LandscapeDirection {
  kind: DirectionKind;
  /** For axis titles: `random direction 1`, `Hessian eigenvector 1 (λ = 12.3)`, ... */
  label: string;
  vector: Float64Array;
  /** ‖d‖₂ over the trainable blocks. */
  norm: number;
  /** Random: how each block's direction was made, with its norms. */
  blocks?: BlockDirectionInfo[];
  /** Hessian: the Ritz value, its residual ‖Hy − θy‖ and the Lanczos steps made. */
  eigenvalue?: number;
  residual?: number;
  lanczosSteps?: number;
  /** Endpoint directions: where the endpoint came from. */
  endpoint?: Endpoint['source'];
}

export interface DirectionContext {
  target: AnalysisTarget;
  batch: Batch;
  trainable: ParamSet;
  /** The current trainable parameters, flattened. */
  current: Float32Array;
  seed: number;
  step: number;
  initial: InitialParameters;
  /** Endpoints read from other runs, by path (read once per run). */
  runEndpoints: Map<string, Endpoint>;
}

export function landscapeDirections(
  config: LossLandscapeConfig,
  ctx: DirectionContext,
): LandscapeDirection[] {
  const { trainable, current } = ctx;
  const hessianCount = config.directions.filter((d) => d === 'hessian').length;
  const eigen =
    hessianCount > 0
      ? (() => {
          const op = hessianOperator(ctx.target.lossOn, ctx.target.params, [ctx.batch], {
            wrt: trainable,
          });
          return topEigenvectors(op.apply, op.dimension, {
            k: hessianCount,
            steps: config.lanczosSteps,
            which: config.which,
            seed: deriveSeed(ctx.seed, 'loss-landscape', 'lanczos'),
          });
        })()
      : undefined;
  let hessianUsed = 0;
  let randomUsed = 0;
  // The blocks' current values, for normalising random directions.
  const offsets = trainable.offsets();
  const blocks = trainable.blocks.map((b, i) => ({
    name: b.name,
    shape: b.shape,
    weights: current.subarray(offsets[i]!, offsets[i]! + b.size),
  }));

  return config.directions.map((ref): LandscapeDirection => {
    const kind = directionKind(ref);
    if (kind === 'random') {
      const index = randomUsed++;
      const seed = deriveSeed(config.seed ?? ctx.seed, 'loss-landscape', 'random', index);
      const { vector, blocks: info } = randomDirection(blocks, {
        seed,
        normalization: config.normalization,
        oneDimensional: config.oneDimensional,
      });
      const n = norm(vector);
      if (!(n > 0)) {
        throw new TdxError(
          'INVALID_ARGUMENT',
          `loss-landscape: the random direction is zero: every trainable block is one-dimensional or has zero weights (${info.map((b) => `${b.name} [${b.shape}]: ${b.treatment}`).join(', ')})`,
          {
            hint: 'set oneDimensional: filter (or keep, or weights) to move 1-D blocks too, or normalization: none',
          },
        );
      }
      return {
        kind,
        label: `random direction ${index + 1} (${config.normalization === 'none' ? 'not normalised' : `${config.normalization}-normalised`})`,
        vector,
        norm: n,
        blocks: info,
      };
    }
    if (kind === 'hessian') {
      const index = hessianUsed++;
      const pair = eigen!.pairs[index]!;
      return {
        kind,
        label: `Hessian eigenvector ${index + 1} (λ = ${pair.value.toPrecision(4)})`,
        vector: pair.vector,
        norm: 1,
        eigenvalue: pair.value,
        residual: pair.residual,
        lanczosSteps: eigen!.steps,
      };
    }
    const endpoint =
      kind === 'initial'
        ? ctx.initial.get(trainable, ctx.step)
        : (() => {
            const path = (ref as { run: string }).run;
            let e = ctx.runEndpoints.get(path);
            if (!e) ctx.runEndpoints.set(path, (e = readRunEndpoint(path, trainable)));
            return e;
          })();
    const vector = Float64Array.from(endpoint.values, (x, i) => x - current[i]!);
    return {
      kind,
      label:
        kind === 'initial'
          ? 'towards the initial parameters (1 = step 0)'
          : `towards run ${(endpoint.source as { runId: string }).runId} (1 = its parameters)`,
      vector,
      norm: norm(vector),
      endpoint: endpoint.source,
    };
  });
}

/** cos∠(d1, d2): random directions in high dimension are nearly orthogonal (Li et al.). */
export function directionCosine(a: Float64Array, b: Float64Array): number {
  const n = norm(a) * norm(b);
  return n > 0 ? dot(a, b) / n : 0;
}
