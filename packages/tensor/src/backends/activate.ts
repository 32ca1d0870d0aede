/**
 * Making a TF.js backend the active one, with a clear error when it cannot start.
 * Backends are process-wide: one run per process uses one backend.
 */
import { TdxError, type BackendInfo } from '@tdx/core';
import { tf } from '../tf.js';

export type BackendName = 'wasm' | 'cpu' | 'tensorflow';

async function setActive(name: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (cause) {
    throw new TdxError(
      'BACKEND_UNAVAILABLE',
      `the ${name} backend failed to start: ${String(cause)}`,
      { cause },
    );
  }
  if (!ok || tf.getBackend() !== name) {
    throw new TdxError('BACKEND_UNAVAILABLE', `the ${name} backend failed to start`, {
      hint: 'try --backend cpu, which is pure JavaScript and always available',
    });
  }
}

/** Node says ERR_MODULE_NOT_FOUND; bundlers and test runners say "Could not resolve". */
function isMissingModule(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = String((error as Error | null)?.message ?? '');
  const missing =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /Cannot find (module|package)|Could not resolve/.test(message);
  return missing && message.includes(name);
}

/** Imports an optional package by a name TypeScript does not try to resolve. */
async function importOptional(name: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ name);
    return true;
  } catch (error) {
    if (isMissingModule(error, name)) return false;
    throw new TdxError(
      'BACKEND_UNAVAILABLE',
      `${name} is installed but failed to load: ${(error as Error).message.split('\n')[0]}`,
      {
        cause: error,
        hint: `reinstall it (npm rebuild ${name}), or use --backend wasm`,
      },
    );
  }
}

export async function activateWasm(): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-wasm');
  await setActive('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { name: 'wasm', details: { tfjs: tf.version_core, simd, threads: 1 } };
}

export async function activateCpu(): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  await setActive('cpu');
  // The cpu backend prints an advert for tfjs-node on first use; tdx says which backend runs.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return { name: 'cpu', details: { tfjs: tf.version_core } };
}

export async function activateTensorflow(device: 'auto' | 'gpu' | 'cpu'): Promise<BackendInfo> {
  const packages =
    device === 'gpu'
      ? ['@tensorflow/tfjs-node-gpu']
      : device === 'cpu'
        ? ['@tensorflow/tfjs-node']
        : ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
  for (const name of packages) {
    if (await importOptional(name)) {
      await setActive('tensorflow');
      return { name: 'tensorflow', details: { tfjs: tf.version_core, package: name } };
    }
  }
  throw new TdxError(
    'BACKEND_UNAVAILABLE',
    `the tensorflow backend needs ${packages.join(' or ')}, which is not installed`,
    {
      hint:
        `install it next to tdx: npm install ${packages.at(-1)}@4.22.0 ` +
        '(its install script downloads libtensorflow from storage.googleapis.com, so it cannot install offline); ' +
        'or use --backend wasm (the default) or --backend cpu',
    },
  );
}
