#!/usr/bin/env node
/**
 * Shape of the source, for comparing two versions of the repository (issue 12's before/after):
 * the longest functions, the largest files, the names each package exports, and the type
 * assertions (`x as T`, not `as const`) in the packages' src folders.
 *
 *   node tests/scripts/code-metrics.mjs [repository root, default: this one] [--json]
 *
 * Parses with the TypeScript compiler; runs on any checkout (no build or install needed there).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const args = process.argv.slice(2);
const json = args.includes('--json');
const root = resolve(
  args.find((a) => !a.startsWith('--')) ?? fileURLToPath(new URL('../..', import.meta.url)),
);

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'generated') continue;
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const packages = readdirSync(join(root, 'packages')).filter((p) => {
  try {
    return statSync(join(root, 'packages', p, 'src')).isDirectory();
  } catch {
    return false;
  }
});

const functions = [];
const files = [];
let casts = 0;
const castsByPackage = {};
const exportsByPackage = {};

for (const pkg of packages) {
  const srcDir = join(root, 'packages', pkg, 'src');
  const program = ts.createProgram(sourceFiles(srcDir), { allowJs: false, noEmit: true });
  const checker = program.getTypeChecker();
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(srcDir) || sf.fileName.includes('/generated/')) continue;
    const rel = relative(root, sf.fileName);
    files.push({ file: rel, lines: sf.getLineAndCharacterOfPosition(sf.end).line + 1 });
    const visit = (node) => {
      if (
        ts.isFunctionDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isArrowFunction(node) ||
        ts.isFunctionExpression(node)
      ) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.end).line;
        let name = node.name?.getText(sf);
        if (!name && ts.isVariableDeclaration(node.parent)) name = node.parent.name.getText(sf);
        if (!name && ts.isPropertyAssignment(node.parent)) name = node.parent.name.getText(sf);
        functions.push({ name: name ?? '(anonymous)', file: rel, lines: end - start + 1 });
      }
      if (ts.isAsExpression(node) && node.type.getText(sf) !== 'const') {
        casts++;
        castsByPackage[pkg] = (castsByPackage[pkg] ?? 0) + 1;
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  const index = program.getSourceFile(join(srcDir, 'index.ts'));
  const symbol = index && checker.getSymbolAtLocation(index);
  exportsByPackage[pkg] = symbol ? checker.getExportsOfModule(symbol).length : 0;
}

functions.sort((a, b) => b.lines - a.lines);
files.sort((a, b) => b.lines - a.lines);
const result = {
  longestFunctions: functions.slice(0, 10),
  largestFiles: files.slice(0, 10),
  exportsByPackage,
  casts,
  castsByPackage,
};
if (json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`source of ${root}`);
  console.log('longest functions (lines):');
  for (const f of result.longestFunctions) console.log(`  ${f.lines}\t${f.name}\t${f.file}`);
  console.log('largest files (lines):');
  for (const f of result.largestFiles) console.log(`  ${f.lines}\t${f.file}`);
  console.log('names exported by each package index:');
  for (const [p, n] of Object.entries(exportsByPackage)) console.log(`  ${n}\t@tdx/${p}`);
  console.log(`type assertions (as T, not as const) in packages/*/src: ${casts}`);
  for (const [p, n] of Object.entries(castsByPackage)) console.log(`  ${n}\t@tdx/${p}`);
}
