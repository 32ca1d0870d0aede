/**
 * The README's Packages table: one table (no blank line splits it, so it renders), a row for
 * every package and plugin package of the repository, and every plugin a package registers
 * named in that package's row, as `name`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '@tdx/cli';
import { createRegistry, PLUGIN_KINDS, type Registry } from '@tdx/core';
import { register as analysis } from '@tdx/analysis';
import { register as datasets } from '@tdx/datasets';
import { register as models } from '@tdx/models';
import { register as optimizers } from '@tdx/optimizers';
import { register as laplace } from '@tdx/plugin-laplace-attention';
import { register as lion } from '@tdx/plugin-lion';
import { register as report } from '@tdx/report';
import { register as tensor } from '@tdx/tensor';
import { root } from './support.js';

const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The lines of the section's first table and what follows it up to the next heading. */
function packagesSection(): { table: string[]; after: string[] } {
  const lines = readme.slice(readme.indexOf('\n## Packages\n') + 1).split('\n');
  const end = lines.findIndex((l, i) => i > 0 && l.startsWith('## '));
  const section = lines.slice(1, end);
  const first = section.findIndex((l) => l.startsWith('|'));
  let last = first;
  while (section[last + 1]?.startsWith('|')) last++;
  return { table: section.slice(first, last + 1), after: section.slice(last + 1) };
}

/** Rows by the folder their first cell links to: `[@tdx/core](packages/core)`. */
function rows(): Map<string, string> {
  const { table } = packagesSection();
  return new Map(
    table.slice(2).map((row) => {
      const link = /^\| \[[^\]]+\]\(([^)]+)\)/.exec(row);
      return [link?.[1] ?? row, row];
    }),
  );
}

/** Names of the plugins a package's register() adds, by kind. */
function registered(register: (r: Registry) => unknown): string[] {
  const registry = createRegistry();
  register(registry);
  return PLUGIN_KINDS.flatMap((kind) => registry.list(kind).map((p) => p.name));
}

describe("the README's Packages table", () => {
  it('is one table: a header, a separator, then rows, with no blank line or row after it', () => {
    const { table, after } = packagesSection();
    expect(table[0]).toMatch(/^\| package \|/);
    expect(table[1]).toMatch(/^\| ---( \| ---)+ \|$/);
    const columns = table[0]!.split('|').length;
    for (const row of table) expect(row.split('|').length, row).toBe(columns);
    // A row after a blank line would start a second table (the first one's rows end there).
    expect(after.filter((l) => l.startsWith('|'))).toEqual([]);
  });

  it('has a row for every package and plugin package of the repository', () => {
    const folders = ['packages', 'plugins'].flatMap((dir) =>
      readdirSync(join(root, dir)).map((name) => `${dir}/${name}`),
    );
    expect([...rows().keys()].sort()).toEqual(folders.sort());
    for (const [folder, row] of rows()) {
      const { name } = JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')) as {
        name: string;
      };
      expect(row.startsWith(`| [${name}](${folder}) |`), row).toBe(true);
    }
  });

  it("names every plugin a package registers in that package's row", () => {
    const packages: Array<[string, (r: Registry) => unknown]> = [
      ['packages/tensor', tensor],
      ['packages/datasets', datasets],
      ['packages/models', models],
      ['packages/optimizers', optimizers],
      ['packages/analysis', analysis],
      ['packages/report', report],
      ['plugins/optimizer-lion', lion],
      ['plugins/attention-laplace', laplace],
    ];
    const table = rows();
    const missing = packages.flatMap(([folder, register]) =>
      registered(register)
        .filter((name) => !table.get(folder)?.includes(`\`${name}\``))
        .map((name) => `${folder}: ${name}`),
    );
    expect(missing).toEqual([]);
    // Those packages are all the default registry holds (none of its plugins is left out).
    const covered = new Set(packages.slice(0, 6).flatMap(([, register]) => registered(register)));
    const all = PLUGIN_KINDS.flatMap((kind) =>
      createDefaultRegistry()
        .list(kind)
        .map((p) => p.name),
    );
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter((name) => !covered.has(name))).toEqual([]);
  });
});
