/**
 * Figures of loss-landscape records: 1-D slices as lines (one per step, and the runs side by
 * side at their last step), 2-D grids as a contour and a surface per run at its first and last
 * evaluation.
 */
import type { AnalysisInstance, FigureSpec } from '@tdx/core';

type Runs = Parameters<NonNullable<AnalysisInstance['figures']>>[0];
type Scale = 'auto' | 'linear' | 'log';

interface AxisRecord {
  kind: string;
  label: string;
  values?: number[];
  norm: number;
  eigenvalue?: number;
}

interface LandscapeRecord {
  step: number;
  centre: number | null;
  axes: AxisRecord[];
  losses: Array<number | null> | Array<Array<number | null>>;
  settings?: { normalization?: string; evaluations?: number; batchSize?: number };
}

function isLandscape(r: Record<string, unknown>): r is Record<string, unknown> & LandscapeRecord {
  return Array.isArray(r.axes) && Array.isArray(r.losses);
}

const num = (v: number | null | undefined): number => (typeof v === 'number' ? v : NaN);

/** Log scale when asked, or (auto) when every loss is positive and they span over 2 decades. */
export function useLogScale(values: number[], scale: Scale): boolean {
  if (scale !== 'auto') return scale === 'log';
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0 || finite.some((v) => v <= 0)) return false;
  return Math.max(...finite) / Math.min(...finite) > 100;
}

function describe(r: LandscapeRecord): string {
  const parts = r.axes.map((a) => {
    if (a.kind === 'random') return `${a.label}, ‖d‖ = ${a.norm.toPrecision(3)}`;
    return a.label;
  });
  const batch = r.settings?.batchSize ? ` of ${r.settings.batchSize} examples` : '';
  return `Loss on the analysis batch${batch} at w + ${r.axes.length === 1 ? 'α d' : 'α d₁ + β d₂'}; ${parts.join('; ')}. Centre loss ${r.centre === null ? 'not finite' : r.centre.toPrecision(5)}.`;
}

export function landscapeFigures(runs: Runs, scale: Scale = 'auto'): FigureSpec[] {
  const figures: FigureSpec[] = [];
  const lastSlices: Array<{ run: string; record: LandscapeRecord; label: string }> = [];
  for (const { run, file } of runs) {
    const records = file.records.filter(isLandscape);
    const slices = records.filter((r) => r.axes.length === 1);
    if (slices.length > 0) {
      const values = slices.flatMap((r) => (r.losses as Array<number | null>).map(num));
      const last = slices.at(-1)!;
      figures.push({
        kind: 'lines',
        id: `${file.label}-${run.label}-slices`,
        title: `Loss along ${last.axes[0]!.label}, ${run.label}`,
        caption: describe(last),
        x: { label: last.axes[0]!.label },
        y: { label: 'loss', log: useLogScale(values, scale) },
        series: slices.map((r) => ({
          name: `step ${r.step}`,
          points: (r.axes[0]!.values ?? []).flatMap((x, j) => {
            const y = num((r.losses as Array<number | null>)[j]);
            return Number.isFinite(y) ? [{ x, y }] : [];
          }),
        })),
      });
      lastSlices.push({ run: run.label, record: last, label: file.label });
    }
    const grids = records.filter((r) => r.axes.length === 2);
    for (const r of [...new Set([grids[0], grids.at(-1)])]) {
      if (!r) continue;
      const z = (r.losses as Array<Array<number | null>>).map((row) => row.map(num));
      const log = useLogScale(z.flat(), scale);
      const [a, b] = r.axes as [AxisRecord, AxisRecord];
      const base = {
        title: `Loss landscape, ${run.label}, step ${r.step}`,
        caption: describe(r),
        x: { label: a.label, values: a.values ?? [] },
        y: { label: b.label, values: b.values ?? [] },
        z,
        zLabel: 'loss',
      };
      figures.push({
        ...base,
        kind: 'contour',
        id: `${file.label}-${run.label}-contour-step${r.step}`,
        levels: 20,
        ...(log ? { logLevels: true } : {}),
      });
      figures.push({
        ...base,
        kind: 'surface',
        id: `${file.label}-${run.label}-surface-step${r.step}`,
        ...(log ? { logZ: true } : {}),
      });
    }
  }
  if (lastSlices.length > 1) {
    const values = lastSlices.flatMap((s) => (s.record.losses as Array<number | null>).map(num));
    figures.push({
      kind: 'lines',
      id: `${lastSlices[0]!.label}-runs`,
      title: `Loss along ${lastSlices[0]!.record.axes[0]!.kind} directions, last evaluation of each run`,
      caption:
        'Each run along its own direction at its last evaluation (the directions differ between runs: each is drawn and normalised at that run’s parameters).',
      x: { label: 'coordinate along the direction' },
      y: { label: 'loss', log: useLogScale(values, scale) },
      series: lastSlices.map(({ run, record }) => ({
        name: `${run}, step ${record.step}`,
        points: (record.axes[0]!.values ?? []).flatMap((x, j) => {
          const y = num((record.losses as Array<number | null>)[j]);
          return Number.isFinite(y) ? [{ x, y }] : [];
        }),
      })),
    });
  }
  return figures;
}
