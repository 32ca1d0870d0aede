/** A matrix as coloured cells, rows and columns labelled, values written in the cells when it is small. */
import type { HeatmapFigure } from '@tdx/core';
import type { VegaLiteSpec } from '../vega.js';
import { extent, uniqueNames } from './common.js';

const CELL = 28;
/** Up to this many rows and columns, each cell shows its value. */
const LABELLED_CELLS = 14;

export function heatmapSpec(figure: HeatmapFigure): VegaLiteSpec {
  // Rows and columns are told apart by name: repeated names get a suffix.
  const rows = uniqueNames(figure.rows);
  const columns = uniqueNames(figure.columns);
  // Null (or non-finite) cells are left out, so they stay blank.
  const cells = rows.flatMap((row, i) =>
    columns.flatMap((column, j) => {
      const value = figure.values[i]?.[j];
      return typeof value === 'number' && Number.isFinite(value) ? [{ row, column, value }] : [];
    }),
  );
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
  // Light text on the dark end of viridis (low values), dark text on the light end.
  const range = extent(cells.map((c) => c.value));
  const middle = range ? (range[0] + range[1]) / 2 : 0;
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
            scale: { scheme: 'viridis' },
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
                color: {
                  condition: { test: `datum.value < ${middle}`, value: 'white' },
                  value: 'black',
                },
              },
            },
          ]
        : []),
    ],
  } as VegaLiteSpec;
}
