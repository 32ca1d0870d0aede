/** Vega-Lite (or Vega) to SVG, offline: no canvas, no network, the same string every time. */
import { TdxError } from '@tdx/core';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { stableIds } from './svg-ids.js';

export type VegaLiteSpec = TopLevelSpec;

/** Fonts and sizes shared by every figure, so a report reads as one document. */
export const FIGURE_CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  title: { fontSize: 14, anchor: 'start' as const },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.35 },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 260 },
  view: { stroke: '#bbb' },
};

/**
 * Figures carry their data inline, so nothing is ever loaded: a loader that refuses and keeps
 * what was asked for. Vega only logs a failed load and draws without the data, so the render
 * checks the list afterwards and fails.
 */
function offlineLoader(): { loader: vega.Loader; refused: string[] } {
  const refused: string[] = [];
  const refuse = (uri: string) => {
    refused.push(uri);
    return Promise.reject(new Error(`not loading ${uri}: figures render offline`));
  };
  return {
    loader: { ...vega.loader(), load: refuse, sanitize: refuse, http: refuse, file: refuse },
    refused,
  };
}

/** A Vega spec to SVG; `idPrefix` makes the SVG's ids unique to the figure. */
export async function renderVega(spec: vega.Spec, idPrefix = 'figure'): Promise<string> {
  const { loader, refused } = offlineLoader();
  const view = new vega.View(vega.parse(spec), {
    renderer: 'none',
    loader,
    logLevel: vega.None, // a refused load is reported below, not on the console
  });
  try {
    const svg = await view.toSVG();
    if (refused.length > 0)
      throw new TdxError('IO', `figures render offline, but this one asked to load ${refused[0]}`, {
        hint: 'put the data in the figure spec itself',
      });
    return stableIds(svg, idPrefix);
  } finally {
    view.finalize();
  }
}

/** A Vega-Lite spec to SVG, with the shared look (FIGURE_CONFIG) under the spec's own config. */
export function renderVegaLite(spec: VegaLiteSpec, idPrefix = 'figure'): Promise<string> {
  const withConfig = {
    ...spec,
    config: { ...FIGURE_CONFIG, ...(spec as { config?: object }).config },
  } as VegaLiteSpec;
  return renderVega(compile(withConfig).spec, idPrefix);
}
