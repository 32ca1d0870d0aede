/**
 * One loss-landscape evaluation: directions at the current point, the loss at every point of
 * the slice or grid, and the record. As parts for analysis workers: the points are cut into
 * chunks (a grid row each by default); a part needs the parameters, the directions and the
 * coordinates (all in `shared`), so the Hessian's Lanczos run or the endpoint's file are only
 * touched in the run's process. Parts and the whole give the same numbers: a point's loss
 * depends only on the float32 centre, directions and coordinates.
 */
import {
  TdxError,
  type AnalysisContext,
  type AnalysisOutput,
  type ParallelAnalysis,
} from '@tdx/core';
import type { AnalysisTarget, Batch, ParamSet } from '@tdx/tensor';
import { axisPoints, axisRanges, linspace, type LossLandscapeConfig } from './config.js';
import { directionCosine, landscapeDirections, type LandscapeDirection } from './directions.js';
import { InitialParameters, type Endpoint } from './endpoints.js';
import { withSliceEvaluator } from './evaluate.js';
import { sliceCurvature, surfaceCurvature } from './surface-curvature.js';

/** What a plugin instance keeps across the evaluations of its run. */
export class LandscapeState {
  readonly initial = new InitialParameters();
  readonly runEndpoints = new Map<string, Endpoint>();
  /** Directions computed by `plan`, for `combine` (or `run`) in the same process. */
  readonly planned = new Map<string, Prepared>();
}

interface Prepared {
  directions: LandscapeDirection[];
  /** Coordinates of each axis. */
  axes: number[][];
  /** Every block of the model at the current point, flattened like params.flatten(). */
  base: Float32Array;
  /** Why there is no slice (the line to the initial parameters at step 0). */
  degenerate?: string;
}

/** What a worker needs besides its rebuilt target. */
interface Shared {
  base: number[];
  directions: number[][];
  axes: number[][];
  chunk: number;
}

const key = (ctx: AnalysisContext) => `${ctx.step}:${ctx.seed}`;

function trainableOf(target: AnalysisTarget): ParamSet {
  const trainable = target.params.trainable();
  if (trainable.blocks.length === 0) {
    throw new TdxError('INVALID_ARGUMENT', 'loss-landscape: every parameter block is frozen', {
      hint: 'the landscape moves the trainable blocks; unfreeze some (trainer.trainable)',
    });
  }
  return trainable;
}

function prepare(
  target: AnalysisTarget,
  ctx: AnalysisContext,
  config: LossLandscapeConfig,
  state: LandscapeState,
): Prepared {
  const trainable = trainableOf(target);
  if (config.directions.includes('initial')) state.initial.observe(trainable, ctx.step);
  const current = trainable.flatten();
  const directions = landscapeDirections(config, {
    target,
    batch: target.analysisBatch(),
    trainable,
    current,
    seed: ctx.seed,
    step: ctx.step,
    initial: state.initial,
    runEndpoints: state.runEndpoints,
  });
  const points = axisPoints(config);
  const axes = axisRanges(config).map(([lo, hi]) => linspace(lo, hi, points));
  const empty = directions.find((d) => d.kind !== 'random' && d.kind !== 'hessian' && d.norm === 0);
  return {
    directions,
    axes,
    base: target.params.flatten(),
    ...(empty
      ? {
          degenerate:
            empty.kind === 'initial' && ctx.step === 0
              ? 'step 0: the initial parameters were recorded; the line to them starts at the next evaluation'
              : 'the endpoint equals the current parameters: the line to it is a point',
        }
      : {}),
  };
}

/** The coordinates of every point: for 2-D, row i (axis 2) after row i − 1, columns along axis 1. */
function pointList(axes: number[][]): number[][] {
  if (axes.length === 1) return axes[0]!.map((a) => [a]);
  return axes[1]!.flatMap((b) => axes[0]!.map((a) => [a, b]));
}

function evaluator<T>(
  target: AnalysisTarget,
  batch: Batch,
  base: ArrayLike<number>,
  directions: ReadonlyArray<ArrayLike<number>>,
  use: (lossAt: (coordinates: readonly number[]) => number) => T,
): T {
  return withSliceEvaluator(
    {
      lossOn: target.lossOn,
      batch,
      params: target.params,
      trainable: trainableOf(target),
      base,
      directions,
    },
    use,
  );
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

function directionRecord(d: LandscapeDirection, values: number[] | undefined) {
  return {
    kind: d.kind,
    label: d.label,
    ...(values ? { values } : {}),
    norm: d.norm,
    ...(d.eigenvalue === undefined
      ? {}
      : { eigenvalue: d.eigenvalue, residual: d.residual, lanczosSteps: d.lanczosSteps }),
    ...(d.endpoint ? { endpoint: d.endpoint } : {}),
    ...(d.blocks ? { blocks: d.blocks } : {}),
  };
}

function output(
  target: AnalysisTarget,
  config: LossLandscapeConfig,
  prepared: Prepared,
  centre: number,
  losses: Array<number | null> | undefined,
): AnalysisOutput {
  const { directions, axes } = prepared;
  const settings = {
    normalization: config.normalization,
    oneDimensional: config.oneDimensional,
    points: axisPoints(config),
    ranges: axisRanges(config),
    evaluations: 1 + (losses?.length ?? 0),
    parameters: trainableOf(target).size,
    batchSize: target.analysisBatch().inputs.shape[0] ?? 1,
    ...(config.seed === undefined ? {} : { seed: config.seed }),
  };
  const common = {
    dimensions: directions.length,
    centre: finite(centre),
    settings,
    ...(directions.length === 2
      ? { cosine: directionCosine(directions[0]!.vector, directions[1]!.vector) }
      : {}),
  };
  if (!losses) {
    return {
      value: centre,
      data: {
        ...common,
        reason: prepared.degenerate,
        axes: directions.map((d) => directionRecord(d, undefined)),
      },
    };
  }
  let minimum: { loss: number; coordinates: number[] } | undefined;
  const points = pointList(axes);
  losses.forEach((loss, p) => {
    if (loss !== null && (!minimum || loss < minimum.loss))
      minimum = { loss, coordinates: points[p]! };
  });
  const n = axes[0]!.length;
  // 2-D: losses[i][j] at (axes[0].values[j], axes[1].values[i]), as a contour's z.
  const grid =
    axes.length === 1
      ? undefined
      : Array.from({ length: axes[1]!.length }, (_, i) => losses.slice(i * n, (i + 1) * n));
  // The surface's own curvature needs a point on each side of an interior point.
  const curvature = axes.every((a) => a.length >= 3)
    ? grid
      ? surfaceCurvature(grid, axes[0]!, axes[1]!)
      : sliceCurvature(losses, axes[0]!)
    : undefined;
  return {
    value: centre,
    data: {
      ...common,
      axes: directions.map((d, k) => directionRecord(d, axes[k])),
      losses: grid ?? losses,
      ...(minimum ? { minimum } : {}),
      ...(curvature ? { curvature } : {}),
    },
  };
}

export function lossLandscapeParts(
  config: LossLandscapeConfig,
  state: LandscapeState = new LandscapeState(),
): {
  run: (target: AnalysisTarget, ctx: AnalysisContext) => AnalysisOutput;
  parallel: ParallelAnalysis;
} {
  // A grid row per part by default; a 1-D slice is cheap enough to stay whole.
  const chunkOf = (prepared: Prepared) => config.pointsPerPart ?? prepared.axes[0]!.length;
  const centreOf = (target: AnalysisTarget, prepared: Prepared) =>
    evaluator(
      target,
      target.analysisBatch(),
      prepared.base,
      prepared.directions.map((d) => d.vector),
      (lossAt) => lossAt(prepared.directions.map(() => 0)),
    );
  return {
    run: (target, ctx) => {
      const prepared = state.planned.get(key(ctx)) ?? prepare(target, ctx, config, state);
      state.planned.delete(key(ctx));
      const vectors = prepared.directions.map((d) => d.vector);
      return evaluator(target, target.analysisBatch(), prepared.base, vectors, (lossAt) => {
        const centre = lossAt(vectors.map(() => 0));
        if (prepared.degenerate) return output(target, config, prepared, centre, undefined);
        const losses = pointList(prepared.axes).map((c) => finite(lossAt(c)));
        return output(target, config, prepared, centre, losses);
      });
    },
    parallel: {
      plan: (target, ctx) => {
        const t = target;
        // Without a fixed evaluation batch the batch is the current step's training batch,
        // which a worker would not draw: stay in process.
        if (!t.dataset.evalBatch) return undefined;
        const prepared = prepare(t, ctx, config, state);
        // One plan at a time: a plan whose parts failed is not kept past the next one. Kept
        // for `combine`, or for `run` when there is nothing to split.
        state.planned.clear();
        state.planned.set(key(ctx), prepared);
        if (prepared.degenerate) return undefined;
        const chunk = chunkOf(prepared);
        const total = pointList(prepared.axes).length;
        const shared: Shared = {
          base: Array.from(prepared.base),
          directions: prepared.directions.map((d) => Array.from(Float32Array.from(d.vector))),
          axes: prepared.axes,
          chunk,
        };
        return { parts: Math.ceil(total / chunk), shared };
      },
      part: (target, _ctx, index, shared) => {
        const t = target;
        const s = shared as Shared;
        const points = pointList(s.axes).slice(index * s.chunk, (index + 1) * s.chunk);
        return evaluator(t, t.analysisBatch(), s.base, s.directions, (lossAt) =>
          points.map((c) => finite(lossAt(c))),
        );
      },
      combine: (target, ctx, parts) => {
        const t = target;
        const prepared = state.planned.get(key(ctx)) ?? prepare(t, ctx, config, state);
        state.planned.delete(key(ctx));
        const losses = (parts as Array<Array<number | null>>).flat();
        return output(t, config, prepared, centreOf(t, prepared), losses);
      },
    },
  };
}

/** The landscape as a plain function of a target (for code and tests). */
export function lossLandscape(
  target: AnalysisTarget,
  config: LossLandscapeConfig,
  ctx: AnalysisContext,
  state?: LandscapeState,
): AnalysisOutput {
  return lossLandscapeParts(config, state).run(target, ctx);
}
