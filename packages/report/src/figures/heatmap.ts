/** A matrix as coloured cells, rows and columns labelled, values written in the cells when it is small. */
import type { HeatmapFigure } from '@tdx/core';
import type { VegaLiteSpec } from '../vega.js';
import { extent, uniqueNames } from './common.js';

const CELL = 28;

/** Viridis at 0, 0.1, ..., 1 (matplotlib's, which Vega's scheme follows). */
const VIRIDIS = [
  '#440154',
  '#482475',
  '#414487',
  '#355f8d',
  '#2a788e',
  '#21918c',
  '#22a884',
  '#44bf70',
  '#7ad151',
  '#bddf26',
  '#fde725',
];

/** Viridis at t in [0, 1], as linear RGB components in [0, 1] between the stops. */
export function viridis(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const rgb = (hex: string) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16) / 255);
  const [a, b] = [rgb(VIRIDIS[i]!), rgb(VIRIDIS[i + 1]!)];
  return a.map((v, k) => v + (u - i) * (b[k]! - v)) as [number, number, number];
}

/** WCAG relative luminance of an sRGB colour with components in [0, 1]. */
export function relativeLuminance([r, g, b]: readonly number[]): number {
  const lin = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
}

/** Black or white, whichever contrasts more with a cell of this luminance (WCAG ratio). */
export function inkOn(luminance: number): 'black' | 'white' {
  return (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) ? 'black' : 'white';
}
/** Up to this many rows and columns, each cell shows its value. */
const LABELLED_CELLS = 14;

export function heatmapSpec(figure: HeatmapFigure): VegaLiteSpec {
  // Rows and columns are told apart by name: repeated names get a suffix.
  const rows = uniqueNames(figure.rows);
  const columns = uniqueNames(figure.columns);
  // Null (or non-finite) cells are left out, so they stay blank.
  const finite = rows.flatMap((row, i) =>
    columns.flatMap((column, j) => {
      const value = figure.values[i]?.[j];
      return typeof value === 'number' && Number.isFinite(value) ? [{ row, column, value }] : [];
    }),
  );
  // The colour scale spans the values exactly, so each cell's colour is known here, and its
  // label is written in black or white by that colour's luminance.
  const range = extent(finite.map((c) => c.value));
  const span = range && range[1] > range[0] ? range[1] - range[0] : 0;
  const cells = finite.map((c) => ({
    ...c,
    ink: inkOn(relativeLuminance(viridis(span > 0 ? (c.value - range![0]) / span : 0.5))),
  }));
  const x = {
    field: 'column',
    type: 'ordinal' as const,
    sort: columns,
    scale: { domain: columns },
    title: null,
    axis: { labelAngle: -45 },
  };
  const y = {
    field: 'row',
    type: 'ordinal' as const,
    sort: rows,
    scale: { domain: rows },
    title: null,
  };
  const small = rows.length <= LABELLED_CELLS && columns.length <= LABELLED_CELLS;
  return {
    title: figure.title,
    width: Math.max(160, CELL * columns.length),
    height: Math.max(160, CELL * rows.length),
    data: { values: cells },
    layer: [
      {
        mark: { type: 'rect' as const },
        encoding: {
          x,
          y,
          color: {
            field: 'value',
            type: 'quantitative' as const,
            title: figure.colorLabel,
            scale: {
              scheme: 'viridis',
              ...(span > 0 ? { domain: range, nice: false, zero: false } : {}),
            },
          },
        },
      },
      ...(small
        ? [
            {
              mark: { type: 'text' as const, fontSize: 9 },
              encoding: {
                x,
                y,
                text: { field: 'value', type: 'quantitative' as const, format: '.2~g' },
                // The ink by name (Vega-Lite's `scale: null` fails in a layer with a legend).
                color: {
                  field: 'ink',
                  type: 'nominal' as const,
                  scale: { domain: ['black', 'white'], range: ['black', 'white'] },
                  legend: null,
                },
              },
            },
          ]
        : []),
    ],
  } as VegaLiteSpec;
}
