/**
 * Level sets of z over a grid (a 2-D loss landscape): z as coloured cells centred on the grid
 * points, and the iso-lines of `levels` levels drawn over them.
 */
import type { ContourFigure } from '@tdx/core';
import type { VegaLiteSpec } from '../vega.js';
import { extent, scaleOf } from './common.js';
import { contourSegments, visibleGrid } from './contour-lines.js';

const SIZE = 420;

/** Cell edges around grid points: halfway between neighbours (geometric mean on a log axis). */
function cellEdges(values: readonly number[], log: boolean | undefined): number[] {
  const t = (v: number) => (log ? Math.log(v) : v);
  const inverse = (v: number) => (log ? Math.exp(v) : v);
  const u = values.map(t);
  if (u.length === 0) return [];
  if (u.length === 1) return [inverse(u[0]! - 0.5), inverse(u[0]! + 0.5)];
  const mids = u.slice(1).map((v, i) => (v + u[i]!) / 2);
  return [u[0]! - (mids[0]! - u[0]!), ...mids, u.at(-1)! + (u.at(-1)! - mids.at(-1)!)].map(inverse);
}

export function contourSpec(input: ContourFigure): VegaLiteSpec {
  const figure = visibleGrid(input);
  const xEdges = cellEdges(figure.x.values, figure.x.log);
  const yEdges = cellEdges(figure.y.values, figure.y.log);
  // Cells a log colour scale cannot show (z ≤ 0) are left blank, like missing ones.
  const cells = figure.y.values.flatMap((_, i) =>
    figure.x.values.flatMap((__, j) => {
      const z = figure.z[i]?.[j];
      return typeof z === 'number' && Number.isFinite(z) && (!figure.logLevels || z > 0)
        ? [{ x: xEdges[j]!, x2: xEdges[j + 1]!, y: yEdges[i]!, y2: yEdges[i + 1]!, z }]
        : [];
    }),
  );
  // The axes span exactly the grid's cells.
  const axis = (field: 'x' | 'y', edges: number[], spec: ContourFigure['x']) => {
    const span = extent(edges);
    return {
      field,
      type: 'quantitative' as const,
      title: spec.label,
      scale: { ...scaleOf(spec), nice: false, ...(span ? { domain: span } : {}) },
    };
  };
  const x = axis('x', xEdges, figure.x);
  const y = axis('y', yEdges, figure.y);
  return {
    title: figure.title,
    width: SIZE,
    height: SIZE,
    layer: [
      {
        data: { values: cells },
        mark: { type: 'rect' as const },
        encoding: {
          x,
          x2: { field: 'x2' },
          y,
          y2: { field: 'y2' },
          color: {
            field: 'z',
            type: 'quantitative' as const,
            title: figure.zLabel,
            scale: { scheme: 'viridis', ...(figure.logLevels ? { type: 'log' as const } : {}) },
          },
        },
      },
      {
        data: { values: contourSegments(figure) },
        mark: { type: 'rule' as const, color: 'white', opacity: 0.85, strokeWidth: 1, clip: true },
        encoding: { x, y, x2: { field: 'x2' }, y2: { field: 'y2' } },
      },
    ],
  } as VegaLiteSpec;
}
