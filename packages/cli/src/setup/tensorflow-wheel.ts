/**
 * libtensorflow from the TensorFlow wheel that pip fetches (the public Python index, or the
 * index pip is configured with): its `libtensorflow_cc.so.2` exports TensorFlow's C API, which is
 * what @tensorflow/tfjs-node binds to. tfjs-node's own install script downloads libtensorflow
 * from a bucket that has refused requests since August 2026 (tensorflow/tfjs#8742).
 *
 * The wheel and what is taken out of it are kept in tdx's cache, so a second setup (another
 * checkout, a reinstall) downloads and unpacks nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TdxError } from '@tdx/core';

/** The TensorFlow release tdx builds against: its C API is what tfjs-node 4.22 expects. */
export const TENSORFLOW_VERSION = '2.21.0';

export type Device = 'cpu' | 'gpu';

/** The wheel of each variant: the CPU-only build, or the CUDA build with NVIDIA's libraries. */
export const WHEELS: Record<Device, string> = { cpu: 'tensorflow-cpu', gpu: 'tensorflow' };

export interface Libtensorflow {
  device: Device;
  version: string;
  /** Folder with libtensorflow_cc.so.2 and libtensorflow_framework.so.2. */
  libDir: string;
  /** Folder with tensorflow/c/*.h and the headers they include. */
  includeDir: string;
  /** NVIDIA's shared libraries (CUDA, cuDNN, ...) for the gpu variant; none for cpu. */
  cudaLibraries: string[];
  wheels: string[];
}

/** tdx's cache: TDX_CACHE_DIR, else $XDG_CACHE_HOME/tdx, else ~/.cache/tdx. */
export function cacheRoot(): string {
  return (
    process.env.TDX_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tdx')
  );
}

type Log = (line: string) => void;

function run(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-12);
    throw new TdxError(
      'BACKEND_UNAVAILABLE',
      `${what} failed (${command} ${args.join(' ')}): ${result.error?.message ?? `exit ${result.status}`}\n${output.join('\n')}`,
      {
        hint:
          'pip must reach a Python package index with the wheel (the public one, or the index ' +
          'your pip.conf names); run the command above by hand to see why it fails',
      },
    );
  }
  return `${result.stdout}`;
}

function pipDownload(python: string, requirements: string[], dest: string, log: Log): void {
  log(`pip download ${requirements.join(' ')}`);
  run(
    python,
    [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--disable-pip-version-check',
      '--dest',
      dest,
      ...requirements,
    ],
    `downloading ${requirements.join(', ')}`,
  );
}

/** Python run with a script: zipfile reads wheels without any extra tool. */
function python(pythonPath: string, script: string, args: string[], what: string): string {
  return run(pythonPath, ['-c', script, ...args], what);
}

const EXTRACT = `
import sys, zipfile
wheel, dest, *prefixes = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if any(name.startswith(p) for p in prefixes):
            z.extract(name, dest)
`;

/** The and-cuda extra of the tensorflow wheel: NVIDIA's wheels that TensorFlow's CUDA build loads. */
const CUDA_REQUIREMENTS = `
import sys, zipfile, re
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
    for line in z.read(meta).decode().splitlines():
        if line.startswith('Requires-Dist:') and 'and-cuda' in line:
            print(re.split(r'\\s*;', line[len('Requires-Dist:'):].strip())[0].replace(' ', ''))
`;

/** A wheel of distribution `name` (a file name spells its dashes as underscores) and `version`. */
function findWheel(dir: string, name: string, version: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const prefix = `${name.replace(/-/g, '_')}-${version}-`;
  const file = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  return file && join(dir, file);
}

/** Downloads (once) and unpacks (once) libtensorflow for `device`; returns where it is. */
export function fetchLibtensorflow(device: Device, pythonPath: string, log: Log): Libtensorflow {
  const root = join(cacheRoot(), 'native', `${WHEELS[device]}-${TENSORFLOW_VERSION}`);
  const record = join(root, 'unpacked.json');
  if (existsSync(record)) {
    const unpacked = JSON.parse(readFileSync(record, 'utf8')) as Libtensorflow;
    if (existsSync(join(unpacked.libDir, 'libtensorflow_cc.so.2'))) {
      log(`libtensorflow ${unpacked.version} (${device}) already unpacked in ${root}`);
      return unpacked;
    }
  }
  const wheels = join(root, 'wheels');
  mkdirSync(wheels, { recursive: true });
  if (!findWheel(wheels, WHEELS[device], TENSORFLOW_VERSION))
    pipDownload(pythonPath, [`${WHEELS[device]}==${TENSORFLOW_VERSION}`], wheels, log);
  const wheel = findWheel(wheels, WHEELS[device], TENSORFLOW_VERSION);
  if (!wheel)
    throw new TdxError(
      'BACKEND_UNAVAILABLE',
      `pip reported success but no ${WHEELS[device]} ${TENSORFLOW_VERSION} wheel is in ${wheels}`,
    );
  log(`unpacking libtensorflow and the C API headers from ${wheel}`);
  const unpacked = join(root, 'unpacked');
  python(
    pythonPath,
    EXTRACT,
    [
      wheel,
      unpacked,
      'tensorflow/libtensorflow_cc.so.2',
      'tensorflow/libtensorflow_framework.so.2',
      'tensorflow/include/tensorflow/c/',
      'tensorflow/include/tensorflow/core/platform/',
      'tensorflow/include/tsl/',
      'tensorflow/include/xla/tsl/',
    ],
    `unpacking ${wheel}`,
  );
  const cudaLibraries: string[] = [];
  const allWheels = [wheel];
  if (device === 'gpu') {
    const requirements = python(
      pythonPath,
      CUDA_REQUIREMENTS,
      [wheel],
      'reading the and-cuda extra',
    )
      .trim()
      .split('\n')
      .filter(Boolean);
    pipDownload(pythonPath, requirements, wheels, log);
    for (const file of readdirSync(wheels).filter((f) => f.startsWith('nvidia_'))) {
      allWheels.push(join(wheels, file));
      python(pythonPath, EXTRACT, [join(wheels, file), unpacked, 'nvidia/'], `unpacking ${file}`);
    }
    const nvidia = join(unpacked, 'nvidia');
    if (existsSync(nvidia))
      for (const pkg of readdirSync(nvidia)) {
        const lib = join(nvidia, pkg, 'lib');
        if (existsSync(lib))
          for (const f of readdirSync(lib)) if (f.includes('.so')) cudaLibraries.push(join(lib, f));
      }
  }
  const result: Libtensorflow = {
    device,
    version: TENSORFLOW_VERSION,
    libDir: join(unpacked, 'tensorflow'),
    includeDir: join(unpacked, 'tensorflow', 'include'),
    cudaLibraries,
    wheels: allWheels,
  };
  writeFileSync(record, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
