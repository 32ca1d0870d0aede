/**
 * The packages as a user installs them: what `npm pack` puts in each tarball (license, types,
 * source maps whose sources are shipped), the metadata registries show, and types that a
 * TypeScript project on `moduleResolution: node10` finds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './support.js';

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  main?: string;
  types?: string;
  exports?: Record<string, Record<string, string>>;
  files?: string[];
  homepage?: string;
  bugs?: { url?: string };
  repository?: { type?: string; url?: string; directory?: string };
}

const folders = ['packages', 'plugins'].flatMap((dir) =>
  readdirSync(join(root, dir)).map((name) => `${dir}/${name}`),
);
const manifest = (folder: string): Manifest =>
  JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')) as Manifest;
const rootManifest = manifest('.');
const license = readFileSync(join(root, 'LICENSE'), 'utf8');

/** The files `npm pack` would put in the tarball of the package in `folder`. */
function packedFiles(folder: string): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: join(root, folder),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map(
    (f) => f.path,
  );
}

describe('every published package', () => {
  it('is one of the workspace folders (a sanity check of the list below)', () => {
    expect(folders).toEqual(expect.arrayContaining(['packages/core', 'plugins/optimizer-lion']));
    expect(folders.length).toBeGreaterThanOrEqual(10);
  });

  it.each(folders)('%s: MIT license file, metadata, main and types', (folder) => {
    const pkg = manifest(folder);
    expect(pkg.private).toBeUndefined();
    expect(pkg.license).toBe('MIT');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the tdx authors\n/);
    expect(readFileSync(join(root, folder, 'LICENSE'), 'utf8')).toBe(license);
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'src', 'README.md', 'LICENSE']));
    // The same organisation everywhere; the folder of the package inside the repository.
    expect(pkg.repository).toEqual({ ...rootManifest.repository, directory: folder });
    expect(pkg.homepage).toBe(
      `${rootManifest.homepage!.replace(/#readme$/, '')}/tree/main/${folder}#readme`,
    );
    expect(pkg.bugs).toEqual(rootManifest.bugs);
    expect(rootManifest.repository?.url).toMatch(/^git\+https:\/\/github\.com\/[\w-]+\/tdx\.git$/);
    // Top-level main and types agree with exports (for tools that ignore exports).
    const entry = pkg.exports!['.']!;
    expect(pkg.main).toBe(entry.default);
    expect(pkg.types).toBe(entry.types);
  });

  it.each(folders)(
    '%s: the tarball holds what main, types and every source map point at',
    (folder) => {
      const files = packedFiles(folder);
      const pkg = manifest(folder);
      const shipped = new Set(files.map((f) => normalize(f)));
      for (const f of ['LICENSE', 'README.md', 'package.json', pkg.main!, pkg.types!])
        expect(shipped.has(normalize(f)), f).toBe(true);
      const maps = files.filter((f) => f.endsWith('.map'));
      expect(maps.length).toBeGreaterThan(0);
      const missing: string[] = [];
      for (const map of maps) {
        const { sources } = JSON.parse(readFileSync(join(root, folder, map), 'utf8')) as {
          sources: string[];
        };
        for (const source of sources) {
          const target = normalize(join(dirname(map), source));
          if (!shipped.has(target)) missing.push(`${map} -> ${source}`);
        }
      }
      expect(missing).toEqual([]);
    },
  );

  it('gives its types to TypeScript on moduleResolution node10', () => {
    const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
    const project = join(root, 'tests/fixtures/node10-consumer');
    expect(existsSync(join(project, 'consumer.ts'))).toBe(true);
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  }, 60_000);
});
