/**
 * @tensorflow/tfjs-node(-gpu) installed next to tdx's TensorFlow.js, with its native binding
 * built against the libtensorflow of the TensorFlow wheel (tensorflow-wheel.ts).
 *
 * The package is installed without its install script (which downloads libtensorflow from a
 * bucket that refuses requests); `deps/` is filled with links to the unpacked wheel, and the
 * binding is compiled by node-pre-gyp (which tfjs-node depends on) with Node's own headers.
 * The compiled binding is kept in tdx's cache, keyed by everything it depends on, so another
 * setup on the same machine copies it instead of compiling.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { TdxError } from '@tdx/core';
import type { Device, Libtensorflow } from './tensorflow-wheel.js';
import { cacheRoot } from './tensorflow-wheel.js';

/** Every @tensorflow package tdx uses is pinned to this version (one copy of tfjs-core). */
export const TFJS_VERSION = '4.22.0';

export const PACKAGES: Record<Device, string> = {
  cpu: '@tensorflow/tfjs-node',
  gpu: '@tensorflow/tfjs-node-gpu',
};

type Log = (line: string) => void;

/**
 * The folder whose node_modules holds tdx's copy of @tensorflow/tfjs-core: the package must be
 * installed there so that it shares that copy (and its gradient and kernel registries).
 */
export function projectRoot(): string {
  const require = createRequire(import.meta.url);
  const core = require.resolve('@tensorflow/tfjs-core/package.json');
  // <root>/node_modules/@tensorflow/tfjs-core/package.json
  return dirname(dirname(dirname(dirname(core))));
}

/** Where the package is (or would be) installed. */
export function packageDir(root: string, device: Device): string {
  return join(root, 'node_modules', ...PACKAGES[device].split('/'));
}

function installedVersion(dir: string): string | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
}

function runLogged(command: string, args: string[], cwd: string, what: string): void {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, npm_config_yes: 'true' },
  });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-20);
    throw new TdxError(
      'BACKEND_UNAVAILABLE',
      `${what} failed (in ${cwd}: ${command} ${args.join(' ')}): ${result.error?.message ?? `exit ${result.status}`}\n${output.join('\n')}`,
      { hint: 'run the command above by hand to see the whole output' },
    );
  }
}

/** Installs the npm package without its install script (idempotent). */
export function installPackage(root: string, device: Device, log: Log): string {
  const dir = packageDir(root, device);
  if (installedVersion(dir) === TFJS_VERSION) {
    log(`${PACKAGES[device]}@${TFJS_VERSION} already installed in ${root}`);
    return dir;
  }
  log(`npm install ${PACKAGES[device]}@${TFJS_VERSION} (without its install script) in ${root}`);
  // --no-save: the project's package.json and lockfile stay as they are; tdx treats the native
  // backend as an optional peer, present where this command has run.
  runLogged(
    'npm',
    [
      'install',
      '--no-save',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      `${PACKAGES[device]}@${TFJS_VERSION}`,
    ],
    root,
    `installing ${PACKAGES[device]}`,
  );
  if (installedVersion(dir) !== TFJS_VERSION)
    throw new TdxError(
      'BACKEND_UNAVAILABLE',
      `npm finished but ${dir} does not hold ${PACKAGES[device]}@${TFJS_VERSION}`,
    );
  return dir;
}

function link(target: string, path: string): void {
  rmSync(path, { force: true, recursive: true });
  symlinkSync(target, path);
}

/**
 * deps/ as tfjs-node's build expects it: lib/libtensorflow.so{,.2} (the wheel's
 * libtensorflow_cc.so.2, which exports the C API), libtensorflow_cc.so.2 (its soname, what the
 * binding records), libtensorflow_framework.so{,.2}, NVIDIA's libraries for the GPU build, and
 * include/ with the C API headers. Links, not copies: the library is 800 MB.
 */
export function linkDeps(dir: string, lib: Libtensorflow): void {
  const deps = join(dir, 'deps');
  const libDir = join(deps, 'lib');
  mkdirSync(libDir, { recursive: true });
  const cc = join(lib.libDir, 'libtensorflow_cc.so.2');
  const framework = join(lib.libDir, 'libtensorflow_framework.so.2');
  for (const name of ['libtensorflow.so', 'libtensorflow.so.2', 'libtensorflow_cc.so.2'])
    link(cc, join(libDir, name));
  for (const name of ['libtensorflow_framework.so', 'libtensorflow_framework.so.2'])
    link(framework, join(libDir, name));
  // TensorFlow's CUDA build opens NVIDIA's libraries by name from its own folder ($ORIGIN).
  for (const cuda of lib.cudaLibraries) link(cuda, join(libDir, basename(cuda)));
  link(lib.includeDir, join(deps, 'include'));
}

/** The path node-pre-gyp's `binary.find` resolves for this Node: lib/napi-v<N>/tfjs_binding.node. */
export function bindingPath(dir: string): string | undefined {
  const require = createRequire(join(dir, 'package.json'));
  try {
    const binary = require('@mapbox/node-pre-gyp') as { find(packageJson: string): string };
    return binary.find(join(dir, 'package.json'));
  } catch {
    return undefined;
  }
}

/** Compiles the binding, or copies the one compiled before for the same inputs. */
export function buildBinding(
  dir: string,
  device: Device,
  lib: Libtensorflow,
  nodeDir: string,
  log: Log,
): string {
  const target = bindingPath(dir);
  if (!target) throw new TdxError('BACKEND_UNAVAILABLE', `cannot locate node-pre-gyp for ${dir}`);
  const key = [
    PACKAGES[device].replace('/', '+'),
    TFJS_VERSION,
    `tensorflow-${lib.version}`,
    basename(dirname(target)),
    `node-abi-${process.versions.modules}`,
    process.platform,
    process.arch,
  ].join('-');
  const cached = join(cacheRoot(), 'native', 'bindings', key, 'tfjs_binding.node');
  if (existsSync(cached)) {
    log(`binding compiled before: ${cached}`);
  } else {
    log(`compiling the binding against libtensorflow ${lib.version} (about a minute)`);
    const preGyp = join(
      dirname(
        createRequire(join(dir, 'package.json')).resolve('@mapbox/node-pre-gyp/package.json'),
      ),
      'bin',
      'node-pre-gyp',
    );
    runLogged(
      process.execPath,
      [preGyp, 'install', '--build-from-source', `--nodedir=${nodeDir}`],
      dir,
      `compiling ${PACKAGES[device]}'s binding`,
    );
    if (!existsSync(target))
      throw new TdxError('BACKEND_UNAVAILABLE', `node-pre-gyp finished but ${target} is missing`);
    mkdirSync(dirname(cached), { recursive: true });
    copyFileSync(target, cached);
    rmSync(join(dir, 'build'), { recursive: true, force: true });
    return target;
  }
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(cached, target);
  return target;
}

export interface VerifiedBackend {
  backend: string;
  tensorflow: string;
  tfjs: string;
  /** A 2×2 product computed by the native backend, checked against its exact value. */
  product: number[];
}

/** Loads the package in a fresh Node process and multiplies two small matrices on it. */
export function verifyBackend(root: string, device: Device): VerifiedBackend {
  const script = `
    const tf = await import(${JSON.stringify(PACKAGES[device])});
    const product = Array.from(tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).dataSync());
    console.log(JSON.stringify({ backend: tf.getBackend(), tensorflow: tf.backend().binding.TF_Version, tfjs: tf.version_core, product }));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  const line = result.stdout?.trim().split('\n').at(-1) ?? '';
  let parsed: VerifiedBackend | undefined;
  try {
    parsed = JSON.parse(line) as VerifiedBackend;
  } catch {
    parsed = undefined;
  }
  const exact = [19, 22, 43, 50];
  if (
    result.status !== 0 ||
    !parsed ||
    parsed.backend !== 'tensorflow' ||
    parsed.product.some((x, i) => x !== exact[i])
  ) {
    throw new TdxError(
      'BACKEND_UNAVAILABLE',
      `the built backend does not load or computes wrongly: ${`${result.stderr ?? ''}${line}`.trim().split('\n').slice(-8).join('\n')}`,
      { hint: 'run `tdx setup tensorflow --force` to rebuild it' },
    );
  }
  return parsed;
}

/** What was built, kept beside the package (read by `tdx doctor`). */
export function writeRecord(dir: string, record: Record<string, unknown>): string {
  const file = join(dir, 'deps', 'tdx-setup.json');
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
