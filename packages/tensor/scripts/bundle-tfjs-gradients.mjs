#!/usr/bin/env node
/**
 * Generates src/generated/tfjs-gradients.ts: TF.js's stock gradients (tfjs-core's
 * dist/register_all_gradients.js and the modules it needs) as one module that imports the
 * public `@tensorflow/tfjs-core` entry, so that tdx needs neither the `@tensorflow/tfjs` union
 * package (webgl, layers, converter, data: 230 MB) nor a second copy of tfjs-core's code.
 *
 * Why a generated file: tfjs-core's register_all_gradients.js cannot be imported by Node (its
 * ESM imports have no file extensions, measured on Node 20.20), and tfjs-core's Node entry
 * (dist/tf-core.node.js) registers no gradients. The union package works around that by bundling
 * a whole second copy of tfjs-core (Tensor, Engine, every op) into its own file.
 *
 * How: rolldown bundles register_all_gradients.js; every tfjs-core module a gradient imports is
 * replaced by the same names taken from the public entry (a small re-export module), so the
 * gradients call the one tfjs-core the rest of tdx uses. Only modules with no public
 * equivalent are copied in: ops used only by gradients (conv2DBackpropFilter, maxPoolGrad, ...),
 * which are pure functions over ENGINE.runKernel and hold no state. A stateful module (engine,
 * environment, tensor, kernel registry, globals) is never copied: the script fails instead.
 *
 * The file is generated, never committed: the repository's `postinstall` (npm ci, npm install)
 * writes it from the installed tfjs-core, and the published @tdx/tensor ships it compiled in
 * dist/ (with tfjs-core's Apache-2.0 notice), as a bundler would.
 *
 *   node packages/tensor/scripts/bundle-tfjs-gradients.mjs          writes the file
 *   node packages/tensor/scripts/bundle-tfjs-gradients.mjs --check  exits 1 if it is stale
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
export const output = join(here, '../src/generated/tfjs-gradients.ts');
const coreDir = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist');
const coreVersion = require('@tensorflow/tfjs-core/package.json').version;

/** Modules whose state must be the one tfjs-core's: never copied into the bundle. */
/** What tdx takes from TF.js: the stock gradients, and the chained ops (`x.reshape(...)`). */
const ENTRIES = ['register_all_gradients.js', 'public/chained_ops/register_all_chained_ops.js'];

const ENTRY = '\0tdx-tfjs-entry';

const STATEFUL = new Set([
  'engine',
  'environment',
  'tensor',
  'kernel_registry',
  'global_util',
  'globals',
  'tape',
  'flags',
  'base',
  'index',
]);

/** tfjs-core modules published as a namespace of the public entry. */
const NAMESPACES = {
  util: 'util',
  util_base: 'util',
  'ops/broadcast_util': 'broadcast_util',
  'ops/slice_util': 'slice_util',
  'ops/axis_util': 'backend_util',
  'ops/conv_util': 'backend_util',
  'ops/selu_util': 'backend_util',
  'backends/backend_util': 'backend_util',
};

/**
 * Names of stateful modules that the public entry reaches another way: the engine singleton,
 * and the Tensor class kept in TF.js's global map (set by tfjs-core when it loads).
 */
const SPECIAL = {
  'engine.ENGINE': 'tf.engine()',
  'tensor.getGlobalTensorClass': "() => globalThis._tfGlobals?.get('Tensor') ?? tf.Tensor",
};

/** How a name a gradient imports from tfjs-core module `rel` is reached from the public entry. */
function publicExpression(tf, rel, name) {
  if (SPECIAL[`${rel}.${name}`]) return SPECIAL[`${rel}.${name}`];
  const namespace = NAMESPACES[rel];
  if (namespace && tf[namespace] && name in tf[namespace]) return `tf.${namespace}.${name}`;
  if (rel === 'base' && name in tf) return `tf.${name}`;
  if (!namespace && name in tf) return `tf.${name}`;
  return undefined;
}

const IMPORT = /import\s*(?:\*\s*as\s*(\w+)|\{([^}]*)\})\s*from\s*'([^']+)'/g;

/** The names each import statement of `code` asks of each relative module. */
function importedNames(code, importer) {
  const out = [];
  for (const m of code.matchAll(IMPORT)) {
    if (!m[3].startsWith('.')) continue;
    const target = resolve(dirname(importer), m[3].replace(/\.js$/, '')) + '.js';
    const names = m[1]
      ? ['*']
      : m[2]
          .split(',')
          .map((s) => s.trim().split(/\s+as\s+/)[0])
          .filter(Boolean);
    out.push({ target, names });
  }
  return out;
}

export async function bundleTfjsGradients() {
  const { rolldown } = await import('rolldown');
  const tf = require('@tensorflow/tfjs-core');
  const shims = new Map(); // id -> module text
  const copied = new Set();
  const requested = new Map(); // importer -> [{ target, names }]
  const moduleOf = (path) => relative(coreDir, path).replace(/\.js$/, '');

  const plugin = {
    name: 'tfjs-core-public-entry',
    transform(code, id) {
      if (id.startsWith(coreDir)) requested.set(id, importedNames(code, id));
      return null;
    },
    resolveId(source, importer) {
      if (source === ENTRY) return ENTRY;
      if (source === '@tensorflow/tfjs-core') return { id: source, external: true };
      if (!importer || !source.startsWith('.')) return null;
      const target = resolve(dirname(importer), source.replace(/\.js$/, '')) + '.js';
      const rel = moduleOf(target);
      if (rel.startsWith('gradients/') || rel.startsWith('public/chained_ops/')) return target;
      const names = (requested.get(importer) ?? [])
        .filter((r) => r.target === target)
        .flatMap((r) => r.names);
      if (names.length === 0)
        throw new Error(`${moduleOf(importer)}: cannot read its imports of ${rel}`);
      const lines = [];
      for (const name of names) {
        if (name === '*') {
          const namespace = NAMESPACES[rel];
          if (!namespace) break;
          for (const key of Object.keys(tf[namespace]))
            lines.push(`export const ${key} = tf.${namespace}.${key};`);
          continue;
        }
        const expression = publicExpression(tf, rel, name);
        if (!expression) break;
        lines.push(`export const ${name} = ${expression};`);
      }
      if (
        lines.length === new Set(lines).size &&
        lines.length >= names.filter((n) => n !== '*').length &&
        !(names.includes('*') && !NAMESPACES[rel])
      ) {
        const id = `\0tfjs-core:${rel}:${[...new Set(names)].sort().join(',')}`;
        shims.set(
          id,
          `import * as tf from '@tensorflow/tfjs-core';\n${[...new Set(lines)].join('\n')}\n`,
        );
        return id;
      }
      if (STATEFUL.has(rel))
        throw new Error(
          `${moduleOf(importer)} needs ${names.join(', ')} of stateful ${rel}, which the public entry lacks`,
        );
      copied.add(rel);
      return target;
    },
    load(id) {
      if (id === ENTRY)
        return ENTRIES.map((e) => `import ${JSON.stringify(join(coreDir, e))};`).join('\n');
      return shims.get(id) ?? null;
    },
  };

  const bundle = await rolldown({
    input: ENTRY,
    // Paths in the bundle's comments are relative to tfjs-core's dist, wherever it is installed.
    cwd: coreDir,
    plugins: [plugin],
    treeshake: { moduleSideEffects: (id) => !id.startsWith('\0tfjs-core:') },
  });
  const { output: chunks } = await bundle.generate({ format: 'esm', comments: { legal: false } });
  await bundle.close();
  if (chunks.length !== 1) throw new Error(`expected one chunk, got ${chunks.length}`);
  // Every copied file repeats TF.js's license header: the banner says it once.
  const header = /\/\*\*\n\* @license\n\* Copyright 20\d\d Google (?:LLC|Inc)\.[^]*?\*\/\n/g;
  const body = chunks[0].code.replace(header, '');
  if (/@license/.test(body))
    throw new Error('a license header of another form is left in the bundle');
  const banner = [
    '/* eslint-disable */',
    '// @ts-nocheck',
    '/**',
    ` * GENERATED by packages/tensor/scripts/bundle-tfjs-gradients.mjs from @tensorflow/tfjs-core@${coreVersion}`,
    ' * (dist/register_all_gradients.js): do not edit; run the script again after a TF.js upgrade.',
    ' *',
    " * TF.js's stock gradients, registered on import, over the public @tensorflow/tfjs-core entry.",
    ` * Copied in because the public entry lacks them: ${[...copied].sort().join(', ')}.`,
    ' *',
    ' * @license',
    ' * Copyright 2018-2024 Google LLC. All Rights Reserved.',
    ' * Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file',
    ' * except in compliance with the License. You may obtain a copy of the License at',
    ' * http://www.apache.org/licenses/LICENSE-2.0. Unless required by applicable law or agreed to',
    ' * in writing, software distributed under the License is distributed on an "AS IS" BASIS,',
    ' * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the License',
    ' * for the specific language governing permissions and limitations under the License.',
    ' */',
  ].join('\n');
  return { code: `${banner}\n${body}`, copied: [...copied].sort() };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { code, copied } = await bundleTfjsGradients();
  if (process.argv.includes('--check')) {
    const current = readFileSync(output, 'utf8');
    if (current !== code) {
      console.error(
        `${output} is stale: run node packages/tensor/scripts/bundle-tfjs-gradients.mjs`,
      );
      process.exit(1);
    }
    console.log(`${relative(process.cwd(), output)} is up to date`);
  } else {
    // The folder is gitignored with the file, so a fresh clone does not have it.
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, code);
    console.log(
      `wrote ${relative(process.cwd(), output)} (${(code.length / 1024).toFixed(0)} KiB); copied: ${copied.join(', ')}`,
    );
  }
}
