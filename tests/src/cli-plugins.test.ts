/** `tdx list` and `tdx describe` see plugin packages named with --plugins (the built binary). */
import { describe, expect, it } from 'vitest';
import { tdx } from './support.js';

describe('tdx describe --plugins', () => {
  it("shows the config of a plugin package's optimizer", () => {
    const result = tdx(['describe', 'optimizer', 'lion', '--plugins', '@tdx/plugin-lion']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^optimizer "lion": Lion \(Chen et al\. 2023\)/);
    expect(result.stdout).toContain('  lr           number > 0  (default 0.0001)\n');
    expect(result.stdout).toContain('  b2           number >= 0 < 1  (default 0.99)\n');
  });

  it('lists it next to the built-ins, and not without --plugins', () => {
    const withPlugin = tdx(['list', 'optimizer', '--plugins', '@tdx/plugin-lion']);
    expect(withPlugin.code).toBe(0);
    expect(withPlugin.stdout).toMatch(/\n {2}lion +Lion/);
    expect(withPlugin.stdout).toMatch(/\n {2}adam +Adam/);
    const without = tdx(['list', 'optimizer']);
    expect(without.stdout).not.toMatch(/\n {2}lion /);
    const unknown = tdx(['describe', 'optimizer', 'lion']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--plugins <package or path>');
  });

  it('prints the version', () => {
    const result = tdx(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  });
});
