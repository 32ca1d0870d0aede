/**
 * Directional smoothness along the optimizer's own update (Ahn et al. 2023, after Zhang et al.'s
 * (L0, L1)-smoothness): with u = w_t − w_{t−1} the last update and û = u / ‖u‖,
 * S = ûᵀ H(w_{t−1}) û, the exact second derivative of s ↦ L(w_{t−1} + s û) at 0, next to the
 * gradient norm G = ‖∇L(w_{t−1})‖, both on the fixed analysis batch. Ahn et al. plot log G
 * against log S coloured by step; S grows with G.
 *
 * The analysis runs at step t, before the step, so it measures the step before: it moves the
 * trainable parameters back to w_{t−1} = w_t − u (in float32, as the parameters are stored),
 * takes one exact Hessian-vector product and one gradient there, and restores w_t bit for bit.
 * Schedule it every step (every: 1) for the paper's figure, or every K steps: each evaluation
 * measures the state the last update started from. At step 0, right after a resume, or with a
 * trainer that does not report its updates, there is no update: no value.
 */
import {
  definePlugin,
  TdxError,
  z,
  type AnalysisInstance,
  type AnalysisOutput,
  type FigureSpec,
} from '@tdx/core';
import { dot, gradFlat, hvpFlat, norm, type AnalysisTarget } from '@tdx/tensor';

export const directionalSmoothnessConfig = z.object({});

export function directionalSmoothness(target: AnalysisTarget): AnalysisOutput {
  const trainable = target.params.trainable();
  if (typeof target.lastUpdate !== 'function') {
    return {
      data: {
        measuredAt: null,
        reason: 'the trainer does not report its updates (AnalysisTarget.lastUpdate)',
      },
    };
  }
  const update = target.lastUpdate();
  if (update === undefined) {
    return {
      data: {
        measuredAt: null,
        reason:
          target.step === 0
            ? 'no update yet at step 0'
            : 'no last update known (the run resumed from a checkpoint at this step)',
      },
    };
  }
  if (update.length !== trainable.size) {
    throw new TdxError(
      'SHAPE_MISMATCH',
      `the last update has ${update.length} values, the trainable blocks ${trainable.size} (${trainable.names.join(', ')})`,
      { hint: 'lastUpdate() must be flattened over params.trainable(), in its block order' },
    );
  }
  const updateNorm = norm(update);
  if (!(updateNorm > 0) || !Number.isFinite(updateNorm)) {
    return {
      data: {
        measuredAt: null,
        updateNorm,
        reason: `the last update has norm ${updateNorm}: it gives no direction`,
      },
    };
  }
  const direction = update.map((x) => x / updateNorm);
  const loss = target.lossOn(target.analysisBatch());
  const current = trainable.flatten();
  try {
    trainable.assign(current.map((w, i) => w - update[i]!));
    const curvature = dot(direction, hvpFlat(loss, target.params, direction, { wrt: trainable }));
    const { value, grad } = gradFlat(loss, target.params, { wrt: trainable });
    return {
      value: curvature,
      data: { measuredAt: target.step - 1, gradNorm: norm(grad), updateNorm, loss: value },
    };
  } finally {
    trainable.assign(current);
  }
}

type Runs = Parameters<NonNullable<AnalysisInstance['figures']>>[0];

/** What one evaluation recorded, when it measured something. */
function measurements(records: Runs[number]['file']['records']) {
  return records.flatMap((r) =>
    typeof r.value === 'number' &&
    typeof r.gradNorm === 'number' &&
    typeof r.measuredAt === 'number'
      ? [{ step: r.measuredAt, smoothness: r.value, gradNorm: r.gradNorm }]
      : [],
  );
}

/** Per run, log G against log S coloured by step (Ahn et al.'s figure); S over steps. */
export function directionalSmoothnessFigures(runs: Runs): FigureSpec[] {
  const measured = runs
    .map(({ run, file }) => ({ run, label: file.label, points: measurements(file.records) }))
    .filter((r) => r.points.length > 0);
  if (measured.length === 0) return [];
  const figures: FigureSpec[] = measured.map(({ run, label, points }) => {
    const dropped = points.filter((p) => !(p.smoothness > 0 && p.gradNorm > 0)).length;
    return {
      kind: 'scatter',
      id: `${label}-${run.label}-vs-gradient-norm`,
      title: `Directional smoothness against gradient norm, ${run.label}`,
      caption:
        'S_t = ûᵀ H(w_t) û along the update û from w_t to w_{t+1}, against ‖∇L(w_t)‖, on the fixed analysis batch; log-log, coloured by step t (Ahn et al. 2023).' +
        (dropped > 0 ? ` ${dropped} of ${points.length} steps with S ≤ 0 are not shown.` : ''),
      x: { label: 'gradient norm ‖∇L‖', log: true },
      y: { label: 'directional smoothness S', log: true },
      colorLabel: 'step',
      series: [
        {
          name: run.label,
          points: points.map((p) => ({ x: p.gradNorm, y: p.smoothness, color: p.step })),
        },
      ],
    };
  });
  const negative = measured.some(({ points }) => points.some((p) => !(p.smoothness > 0)));
  figures.push({
    kind: 'lines',
    id: `${measured[0]!.label}-over-steps`,
    title: 'Directional smoothness along the update, over training',
    caption:
      'S_t = ûᵀ H(w_t) û along the optimizer’s update from step t, one line per run' +
      (negative ? '; steps with S ≤ 0 are not shown on the log scale.' : '.'),
    x: { label: 'step' },
    y: { label: 'directional smoothness S', log: true },
    series: measured.map(({ run, points }) => ({
      name: run.label,
      points: points.map((p) => ({ x: p.step, y: p.smoothness })),
    })),
  });
  return figures;
}

export const directionalSmoothnessPlugin = definePlugin({
  kind: 'analysis',
  name: 'directional-smoothness',
  title: 'directional smoothness S',
  description:
    'S = ûᵀ H û along the last update û at the state it started from, with ‖∇L‖ there (Ahn et al. 2023)',
  config: directionalSmoothnessConfig,
  create: (): AnalysisInstance => ({
    run: (target) => directionalSmoothness(target),
    figures: directionalSmoothnessFigures,
  }),
});
