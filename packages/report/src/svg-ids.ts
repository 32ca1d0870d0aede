/**
 * Vega numbers the ids in an SVG (clip paths, gradients) with process-wide counters, so the
 * same figure would differ from one render to the next, and two figures inlined in one page
 * could clash. Ids are renumbered per figure, in order of appearance, under a prefix unique
 * to the figure.
 */
export function stableIds(svg: string, prefix: string): string {
  const ids = new Map<string, string>();
  // Text from data is escaped (no raw quotes), so `id="` only ever starts an attribute.
  for (const [, id] of svg.matchAll(/\sid="([^"]+)"/g))
    if (!ids.has(id!)) ids.set(id!, `${prefix}-${ids.size + 1}`);
  return svg.replace(
    /(\sid=")([^"]+)(")|(url\(#)([^)]+)(\))/g,
    (match, open?: string, id?: string, close?: string, urlOpen?: string, ref?: string) => {
      if (open !== undefined) return `${open}${ids.get(id!) ?? id}${close}`;
      const known = ids.get(ref!);
      return known === undefined ? match : `${urlOpen}${known})`;
    },
  );
}
