/**
 * `tdx setup tensorflow [--gpu]`: makes `backend: tensorflow` work on a fresh machine from the
 * npm registry and a Python package index only. Idempotent: what is already there is kept.
 * Nothing is downloaded when a run starts; this command is the only step that downloads.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkToolchain } from './tools.js';
import { cacheRoot, fetchLibtensorflow, WHEELS, type Device } from './tensorflow-wheel.js';
import {
  buildBinding,
  installPackage,
  linkDeps,
  PACKAGES,
  projectRoot,
  TFJS_VERSION,
  verifyBackend,
  writeRecord,
} from './tfjs-node-binding.js';

export interface SetupOptions {
  device: Device;
  /** Compile the binding again even if one is cached. */
  force?: boolean;
  log: (line: string) => void;
}

export interface SetupRecord {
  package: string;
  tfjs: string;
  tensorflow: string;
  wheel: string;
  device: Device;
  projectRoot: string;
  packageDir: string;
  binding: string;
  libtensorflow: string;
  cache: string;
  node: string;
  builtAt: string;
}

export function setupTensorflow(options: SetupOptions): SetupRecord {
  const { device, log } = options;
  const toolchain = checkToolchain();
  const root = projectRoot();
  const lib = fetchLibtensorflow(device, toolchain.python, log);
  const dir = installPackage(root, device, log);
  linkDeps(dir, lib);
  if (options.force)
    rmSync(join(cacheRoot(), 'native', 'bindings'), { recursive: true, force: true });
  const binding = buildBinding(dir, device, lib, toolchain.nodeDir, log);
  log(
    device === 'gpu'
      ? 'checking that the GPU build loads (it falls back to the CPU when no GPU or driver is found)'
      : 'checking that the backend loads and computes',
  );
  const verified = verifyBackend(root, device);
  const record: SetupRecord = {
    package: PACKAGES[device],
    tfjs: TFJS_VERSION,
    tensorflow: verified.tensorflow,
    wheel: `${WHEELS[device]}==${lib.version}`,
    device,
    projectRoot: root,
    packageDir: dir,
    binding,
    libtensorflow: lib.libDir,
    cache: cacheRoot(),
    node: process.version,
    builtAt: new Date().toISOString(),
  };
  log(`recorded in ${writeRecord(dir, record as unknown as Record<string, unknown>)}`);
  return record;
}
