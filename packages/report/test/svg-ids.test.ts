import { describe, expect, it } from 'vitest';
import { stableIds } from '../src/svg-ids.js';

describe('stableIds', () => {
  it('renumbers ids and their references in order of appearance, under the prefix', () => {
    const svg =
      '<svg><defs><clipPath id="clip7"/><linearGradient id="gradient_3"/></defs>' +
      '<g clip-path="url(#clip7)"><path fill="url(#gradient_3)"/><path fill="url(#other)"/></g></svg>';
    expect(stableIds(svg, 'f')).toBe(
      '<svg><defs><clipPath id="f-1"/><linearGradient id="f-2"/></defs>' +
        '<g clip-path="url(#f-1)"><path fill="url(#f-2)"/><path fill="url(#other)"/></g></svg>',
    );
  });
});
