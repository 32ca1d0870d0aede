#!/usr/bin/env node
/**
 * What each published package costs a user: `npm pack` every package of the workspace, then, for
 * each one, `npm install` its tarball (and the tarballs of the @tdx packages it needs, which are
 * not on the registry) into an empty folder and measure node_modules, as `du -sk` does.
 *
 *   npm run build && node tests/scripts/install-sizes.mjs [--json] [name ...]
 *
 * Prints one line per package: installed size, and the largest packages in that install.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const args = process.argv.slice(2);
const json = args.includes('--json');
const only = args.filter((a) => !a.startsWith('--'));

const folders = ['packages', 'plugins'].flatMap((dir) =>
  readdirSync(join(root, dir)).map((name) => join(root, dir, name)),
);
const manifests = new Map(
  folders
    .map((folder) => ({
      folder,
      pkg: JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')),
    }))
    .filter(({ pkg }) => !pkg.private)
    .map(({ folder, pkg }) => [pkg.name, { folder, pkg }]),
);

const work = mkdtempSync(join(tmpdir(), 'tdx-sizes-'));
const packs = join(work, 'packs');
mkdirSync(packs);
const tarballs = new Map();
for (const [name, { folder }] of manifests) {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', packs], {
    cwd: folder,
    encoding: 'utf8',
  });
  tarballs.set(name, join(packs, JSON.parse(out)[0].filename));
}

/** The @tdx packages `name` needs installed, itself included (dependencies and peers). */
function closure(name, seen = new Set()) {
  if (seen.has(name) || !manifests.has(name)) return seen;
  seen.add(name);
  const { pkg } = manifests.get(name);
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }))
    closure(dep, seen);
  return seen;
}

const kib = (path) =>
  Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]);
const mb = (k) => `${(k / 1024).toFixed(k < 10240 ? 1 : 0)} MB`;

const results = [];
for (const name of manifests.keys()) {
  if (only.length > 0 && !only.includes(name)) continue;
  const dir = join(work, name.replace('/', '+'));
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'size-probe', private: true }));
  const needed = [...closure(name)].map((n) => tarballs.get(n));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...needed], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const modules = join(dir, 'node_modules');
  const top = readdirSync(modules)
    .filter((d) => !d.startsWith('.'))
    .flatMap((d) =>
      d.startsWith('@') ? readdirSync(join(modules, d)).map((s) => `${d}/${s}`) : [d],
    )
    .map((d) => ({ name: d, kib: kib(join(modules, d)) }))
    .sort((a, b) => b.kib - a.kib);
  const packages = top.length;
  results.push({ name, kib: kib(modules), packages, largest: top.slice(0, 5) });
  rmSync(dir, { recursive: true, force: true });
}
rmSync(work, { recursive: true, force: true });

if (json) console.log(JSON.stringify(results, null, 2));
else
  for (const r of results)
    console.log(
      `${r.name.padEnd(30)} ${mb(r.kib).padStart(7)}  ${String(r.packages).padStart(3)} packages; largest: ${r.largest.map((l) => `${l.name} ${mb(l.kib)}`).join(', ')}`,
    );
