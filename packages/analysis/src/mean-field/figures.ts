/**
 * The mean-field figures, comparing sizes: R and Q against training time; the stationarity gap;
 * the gaps between the
 * curves of successive sizes; the sliced Wasserstein distances between their particles; and
 * how far each run's particles moved from step 0.
 */
import {
  groupSeries,
  seedsCaption,
  type AnalysisFile,
  type FigureSpec,
  type RunIdentity,
  type Series,
} from '@tdx/core';
import { KINDS } from './config.js';
import {
  curveGaps,
  sizedGroups,
  sizeLabel,
  timeAxis,
  timeOf,
  type CurveGap,
  type MeanFieldRuns,
  type SizedGroup,
  type TimeAxis,
} from './curves.js';
import { particleDistances, particleDrift, type ParticleDistance } from './distances.js';

const fmt = (x: number | null) => (x === null ? '–' : x.toPrecision(3));

function medianError(points: ReadonlyArray<{ standardError: number }>): number | null {
  const e = points
    .map((p) => p.standardError)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return e.length === 0 ? null : e[Math.floor((e.length - 1) / 2)]!;
}

/** What every figure shares: the label, the time axis and the run groups by size. */
interface FigureContext {
  label: string;
  axis: TimeAxis;
  xLabel: string;
  /** Appended to captions when the x axis is the step. */
  axisNote: string;
  groups: SizedGroup[];
  /** The groups as groupSeries and seedsCaption take them. */
  asGroups: Array<{
    name: string;
    runs: Array<{ group: string; run: RunIdentity; file: AnalysisFile }>;
  }>;
}

function figureContext(runs: MeanFieldRuns): FigureContext {
  const axis = timeAxis(runs);
  const groups = sizedGroups(runs);
  return {
    label: runs[0]!.file.label,
    axis,
    xLabel: axis === 'tau' ? 'training time τ' : 'step',
    axisNote:
      axis === 'tau' ? '' : ' Some runs report no τ (optimizerMetrics): the x axis is the step.',
    groups,
    asGroups: groups.map((g) => ({
      name: g.name,
      runs: g.runs.map((r) => ({ group: g.name, ...r })),
    })),
  };
}

/** R and Q against time, per run group (means over seeds). */
function objectiveFigure(c: FigureContext): FigureSpec {
  const curve = (field: string) => (r: { file: AnalysisFile }) =>
    r.file.records.flatMap((rec) =>
      typeof rec[field] === 'number' ? [{ x: timeOf(rec, c.axis), y: rec[field] as number }] : [],
    );
  return {
    kind: 'lines',
    id: `${c.label}-objective`,
    title: 'Data loss R and regularised objective Q against training time',
    caption: `R (the analysis batch's loss) and Q = R + (λ/2)∫∫‖θ‖²ρ_t(dθ)dt of the particles, per run group in order of size; in the mean-field limit the curves of growing sizes converge.${c.axisNote} ${seedsCaption(c.asGroups)}`,
    x: { label: c.xLabel },
    y: { label: 'R, Q', log: true },
    series: c.asGroups.flatMap((g) => [
      { ...groupSeries(g, curve('loss')), name: `${g.name} R` },
      { ...groupSeries(g, curve('objective')), name: `${g.name} Q` },
    ]),
  };
}

/**
 * The Wasserstein stationarity gap against time, per run group (means over seeds): zero at a
 * stationary point of Q, which the theory's global convergence at small λ needs it to reach.
 * Undefined when no record carries the gap.
 */
function stationarityFigure(c: FigureContext): FigureSpec | undefined {
  const curve = (r: { file: AnalysisFile }) =>
    r.file.records.flatMap((rec) =>
      typeof rec.stationarity === 'number' && rec.stationarity > 0
        ? [{ x: timeOf(rec, c.axis), y: rec.stationarity }]
        : [],
    );
  const series = c.asGroups.map((g) => ({ ...groupSeries(g, curve), name: g.name }));
  if (series.every((s) => s.points.length === 0)) return undefined;
  return {
    kind: 'lines',
    id: `${c.label}-stationarity`,
    title: 'Stationarity gap of Q against training time',
    caption: `The Wasserstein stationarity gap ∫∫‖∇_θ δQ/δρ‖²ρ_t(dθ)dt = −dQ/dτ along the flow, per run group in order of size: zero exactly at a stationary point of Q.${c.axisNote} ${seedsCaption(c.asGroups)}`,
    x: { label: c.xLabel },
    y: { label: 'stationarity gap', log: true },
    series,
  };
}

/** The max and mean gaps between the R and Q curves of successive sizes. */
function curveGapFigure(runs: MeanFieldRuns, c: FigureContext): FigureSpec {
  const gaps = { loss: curveGaps(runs, 'loss'), objective: curveGaps(runs, 'objective') };
  const sizes = gaps.loss.pairs.map((p) => p.toSize);
  const bySize = sizes.every((s, i) => Number.isFinite(s) && (i === 0 || s > sizes[i - 1]!));
  const x = (i: number) => (bySize ? sizes[i]! : i + 1);
  const line = (name: string, pairs: CurveGap[], key: 'max' | 'mean'): Series => ({
    name,
    points: pairs.flatMap((p, i) => (p[key] === null ? [] : [{ x: x(i), y: p[key] }])),
  });
  const listing = gaps.loss.pairs
    .map(
      (p, i) =>
        `${i + 1}: ${sizeLabel(c.groups[i]!)} → ${sizeLabel(c.groups[i + 1]!)}, |ΔR| max ${fmt(p.max)} mean ${fmt(p.mean)}, |ΔQ| max ${fmt(gaps.objective.pairs[i]!.max)} mean ${fmt(gaps.objective.pairs[i]!.mean)}`,
    )
    .join('; ');
  return {
    kind: 'lines',
    id: `${c.label}-curve-gaps`,
    title: 'Distance between the training curves of successive sizes',
    caption: `For each pair of successive sizes (particle count L·(heads + neurons)), the max and mean of |R_a − R_b| and |Q_a − Q_b| over their common ${c.axis === 'tau' ? 'τ' : 'step'} range, curves (means over seeds) interpolated linearly at the union of their evaluation times. Pairs: ${listing}.${c.axisNote}`,
    x: { label: bySize ? 'size of the larger model, L·(heads + neurons)' : 'pair' },
    y: { label: 'gap', log: true },
    series: [
      line('max |ΔR|', gaps.loss.pairs, 'max'),
      line('mean |ΔR|', gaps.loss.pairs, 'mean'),
      line('max |ΔQ|', gaps.objective.pairs, 'max'),
      line('mean |ΔQ|', gaps.objective.pairs, 'mean'),
    ],
  };
}

/** SW2 between the particles of successive sizes against time; none without a pair. */
function sizeDistanceFigure(runs: MeanFieldRuns, c: FigureContext): FigureSpec | undefined {
  const distances = particleDistances(runs);
  if (distances.pairs.length === 0) return undefined;
  const name = (p: ParticleDistance) => {
    const [a, b] = [
      c.groups.find((g) => g.name === p.from)!,
      c.groups.find((g) => g.name === p.to)!,
    ];
    return `${sizeLabel(a)} → ${sizeLabel(b)} ${p.kind}`;
  };
  return {
    kind: 'lines',
    id: `${c.label}-size-distance`,
    title: 'Sliced Wasserstein distance between the particle distributions of successive sizes',
    caption: `SW2 between the recorded particles (θ, t) of successive sizes at equal ${c.axis === 'tau' ? 'τ' : 'step'}, per kind (attention heads, MLP neurons), mean over seed pairs with the band from the lowest to the highest; ${distances.directions} random directions (typical Monte-Carlo standard error ${fmt(medianError(distances.pairs.flatMap((p) => p.points)))}).${c.axisNote}`,
    x: { label: c.xLabel },
    y: { label: 'SW2' },
    series: distances.pairs.map((p) => ({
      name: name(p),
      points: p.points.map((q) => ({ x: q.time, y: q.distance })),
      ...(p.points.some((q) => q.runs > 1)
        ? { band: p.points.map((q) => ({ x: q.time, lo: q.lo, hi: q.hi })) }
        : {}),
    })),
  };
}

/** SW2 of each run's particles to its step-0 particles, per group and kind; none without. */
function driftFigure(runs: MeanFieldRuns, c: FigureContext): FigureSpec | undefined {
  const drift = particleDrift(runs);
  if (drift.runs.length === 0) return undefined;
  const series = c.groups.flatMap((g) =>
    KINDS.flatMap((kind) => {
      const members = drift.runs.filter((d) => d.group === g.name && d.kind === kind);
      if (members.length === 0) return [];
      const s = groupSeries(
        { name: g.name, runs: members.map((m) => ({ ...m, group: g.name })) },
        (m) => m.points.map((p) => ({ x: p.time, y: p.distance })),
      );
      return [{ ...s, name: `${g.name} ${kind}` }];
    }),
  );
  return {
    kind: 'lines',
    id: `${c.label}-drift`,
    title: 'How far the particle distribution moved from initialisation',
    caption: `SW2 between the particles (θ, t) at each evaluation and at step 0, per run group and kind (runs not evaluated at step 0 are left out); ${drift.directions} random directions (typical Monte-Carlo standard error ${fmt(medianError(drift.runs.flatMap((d) => d.points)))}).${c.axisNote} ${seedsCaption(c.asGroups)}`,
    x: { label: c.xLabel },
    y: { label: 'SW2 to step 0' },
    series,
  };
}

/** The figures: R and Q against τ; curve gaps between sizes; particle distances; drift. */
export function meanFieldFigures(runs: MeanFieldRuns): FigureSpec[] {
  if (runs.length === 0) return [];
  const c = figureContext(runs);
  const figures: FigureSpec[] = [objectiveFigure(c)];
  const stationarity = stationarityFigure(c);
  if (stationarity) figures.push(stationarity);
  if (c.groups.length >= 2) {
    figures.push(curveGapFigure(runs, c));
    const distances = sizeDistanceFigure(runs, c);
    if (distances) figures.push(distances);
  }
  const drift = driftFigure(runs, c);
  if (drift) figures.push(drift);
  return figures;
}
