/**
 * Whether the native TensorFlow backend is installed and built here, found without loading it
 * (loading switches TF.js's global backend and takes a second). `tdx setup tensorflow` installs
 * @tensorflow/tfjs-node(-gpu) next to tdx's TensorFlow.js and compiles its binding; a run never
 * downloads anything.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type NativeDevice = 'auto' | 'gpu' | 'cpu';

export const NATIVE_PACKAGES = {
  gpu: '@tensorflow/tfjs-node-gpu',
  cpu: '@tensorflow/tfjs-node',
} as const;

export interface NativeStatus {
  /** Installed and built: importing the package should give the `tensorflow` backend. */
  ready: boolean;
  /** The package that would load, when one is installed. */
  package?: string;
  dir?: string;
  /** Why it is not ready, in words, with what to do. */
  reason?: string;
  /** What `tdx setup tensorflow` recorded (versions, paths), when it built this one. */
  setup?: Record<string, unknown>;
}

const SETUP_HINT = 'run `npx tdx setup tensorflow` (add --gpu for the CUDA build)';

function packageDirOf(name: string): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

/** A compiled binding under lib/napi-v<N>/, where node-pre-gyp looks for it. */
function hasBinding(dir: string): boolean {
  const lib = join(dir, 'lib');
  if (!existsSync(lib)) return false;
  return readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
}

function readSetup(dir: string): Record<string, unknown> | undefined {
  const file = join(dir, 'deps', 'tdx-setup.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The first of the device's packages that is installed and built; else why none is. */
export function nativeBackendStatus(device: NativeDevice = 'auto'): NativeStatus {
  const names =
    device === 'auto' ? [NATIVE_PACKAGES.gpu, NATIVE_PACKAGES.cpu] : [NATIVE_PACKAGES[device]];
  let unbuilt: NativeStatus | undefined;
  for (const name of names) {
    const dir = packageDirOf(name);
    if (!dir) continue;
    const setup = readSetup(dir);
    if (hasBinding(dir)) return { ready: true, package: name, dir, ...(setup ? { setup } : {}) };
    unbuilt ??= {
      ready: false,
      package: name,
      dir,
      reason: `${name} is installed in ${dir} but its native binding is not built; ${SETUP_HINT}`,
    };
  }
  return (
    unbuilt ?? {
      ready: false,
      reason: `${names.join(' or ')} is not installed; ${SETUP_HINT}`,
    }
  );
}
