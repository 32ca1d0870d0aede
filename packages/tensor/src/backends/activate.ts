/**
 * Making a TF.js backend the active one, with a clear error when it cannot start.
 * Backends are process-wide: one run per process uses one backend.
 */
import { availableParallelism } from 'node:os';
import { TdxError, type BackendInfo } from '@tdx/core';
import { installNativeKernels } from './native-kernels.js';
import { nativeBackendStatus, type NativeDevice } from './native.js';
import { reinstallTdxGradients, tf } from '../tf.js';

export type BackendName = 'auto' | 'wasm' | 'cpu' | 'tensorflow';

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
  return { name: 'cpu', details: { tfjs: tf.version_core, threads: 1 } };
}

/**
 * Threads of TensorFlow's intra-op pool: `threads` if given, else TDX_BACKEND_THREADS (set by
 * tdx for worker processes, so that processes × threads does not exceed the cores), else every
 * core. Read by TensorFlow when its context is created, so it must be set before the first import.
 */
export function nativeThreads(threads?: number): number {
  const fromEnv = Number(process.env.TDX_BACKEND_THREADS);
  return Math.max(
    1,
    Math.floor(
      threads ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism()),
    ),
  );
}

let nativeLoaded: { package: string; threads: number } | undefined;

export async function activateTensorflow(
  device: NativeDevice,
  threads?: number,
): Promise<BackendInfo> {
  const status = nativeBackendStatus(device);
  if (!status.ready || !status.package)
    throw new TdxError(
      'BACKEND_UNAVAILABLE',
      `the tensorflow backend is not available: ${status.reason}`,
      {
        hint: 'or use --backend wasm (or backend: auto, which falls back to wasm)',
      },
    );
  if (!nativeLoaded) {
    const count = nativeThreads(threads);
    process.env.TF_NUM_INTRAOP_THREADS = String(count);
    process.env.TF_NUM_INTEROP_THREADS = '1';
    // TensorFlow's C++ logging (oneDNN notices, CPU feature hints) is not tdx's output.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    try {
      await import(/* @vite-ignore */ status.package);
    } catch (error) {
      throw new TdxError(
        'BACKEND_UNAVAILABLE',
        `${status.package} is installed but failed to load: ${(error as Error).message.split('\n')[0]}`,
        { cause: error, hint: 'rebuild it: npx tdx setup tensorflow --force' },
      );
    }
    reinstallTdxGradients();
    installNativeKernels(status.package);
    nativeLoaded = { package: status.package, threads: count };
  } else if (threads !== undefined && threads !== nativeLoaded.threads) {
    throw new TdxError(
      'INVALID_ARGUMENT',
      `the tensorflow backend already runs with ${nativeLoaded.threads} threads in this process; it cannot change to ${threads}`,
      { hint: 'TensorFlow sizes its thread pool once per process' },
    );
  }
  await setActive('tensorflow');
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  return {
    name: 'tensorflow',
    details: {
      tfjs: tf.version_core,
      package: nativeLoaded.package,
      tensorflow: binding?.TF_Version ?? 'unknown',
      threads: nativeLoaded.threads,
    },
  };
}

/** `auto`: the native backend when it is installed and built here, else wasm. */
export async function activateAuto(): Promise<BackendInfo> {
  const info = nativeBackendStatus('auto').ready
    ? await activateTensorflow('auto')
    : await activateWasm();
  return { ...info, details: { ...info.details, requested: 'auto' } };
}
