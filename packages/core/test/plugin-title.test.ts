/** A plugin's display name: its optional `title`, checked when it is declared. */
import { describe, expect, it } from 'vitest';
import { definePlugin, pluginTitle, TdxError, z } from '../src/index.js';

const base = {
  kind: 'analysis' as const,
  name: 'top-hessian-eigenvalue',
  description: 'the largest eigenvalue',
  config: z.object({}),
  create: () => ({ run: () => ({}) }),
};

describe('pluginTitle', () => {
  it('is the title when there is one, else the name', () => {
    expect(pluginTitle(definePlugin({ ...base, title: 'top Hessian eigenvalue' }))).toBe(
      'top Hessian eigenvalue',
    );
    expect(pluginTitle(definePlugin(base))).toBe('top-hessian-eigenvalue');
  });

  it('rejects a title that is empty or not a string', () => {
    expect(() => definePlugin({ ...base, title: '  ' })).toThrow(TdxError);
    expect(() => definePlugin({ ...base, title: 3 as unknown as string })).toThrow(
      'has a title that is not a non-empty string',
    );
  });
});
