/** Selecting a backend from code, without a registry: `await useBackend('cpu')`. */
import { TdxError, type BackendInfo } from '@tdx/core';
import {
  activateAuto,
  activateCpu,
  activateTensorflow,
  activateWasm,
  type BackendName,
} from './activate.js';

export async function useBackend(name: BackendName): Promise<BackendInfo> {
  switch (name) {
    case 'auto':
      return activateAuto();
    case 'wasm':
      return activateWasm();
    case 'cpu':
      return activateCpu();
    case 'tensorflow':
      return activateTensorflow('auto');
    default:
      throw new TdxError('INVALID_ARGUMENT', `unknown backend "${String(name)}"`, {
        hint: 'choices: auto, wasm, cpu, tensorflow',
      });
  }
}
