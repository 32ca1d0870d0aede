/** Reading rendered SVGs in tests: marks by their ARIA role, paths by their vertices. */

/** Number of marks of a role (`line mark`, `area mark`, `rect mark`, `point`, `bar`...). */
export const countMarks = (svg: string, role: string): number =>
  svg.split(`aria-roledescription="${role}"`).length - 1;

/** The `<path>` elements of a role, as their attribute text. */
export const marks = (svg: string, role: string): string[] =>
  [...svg.matchAll(new RegExp(`<path[^>]*aria-roledescription="${role}"[^>]*>`, 'g'))].map(
    (m) => m[0],
  );

/** The value of an attribute of an element's text. */
export const attribute = (element: string, name: string): string | undefined =>
  new RegExp(`\\s${name}="([^"]*)"`).exec(element)?.[1];

/** Vertices of a path's `d` (M and L commands). */
export const vertices = (d: string): number => (d.match(/[ML]/g) ?? []).length;

/** Text drawn as an SVG <text> element. */
export const hasText = (svg: string, text: string): boolean => svg.includes(`>${text}</text>`);
