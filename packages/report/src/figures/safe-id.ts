/**
 * A figure id safe as a file name (`figures/<id>.svg`) and inside an HTML id: letters, digits,
 * `.`, `_` and `-` only, not starting with a dot (no hidden files, no `..`), at most 100 long.
 */
export function safeId(id: string): string {
  return (
    id
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[-.]+/, '')
      .slice(0, 100) || 'figure'
  );
}
