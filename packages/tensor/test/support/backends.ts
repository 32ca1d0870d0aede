import { beforeAll, describe } from 'vitest';
import { useBackend, type BackendName } from '../../src/index.js';

/** The backends every numerical test runs on. */
export const TEST_BACKENDS: readonly BackendName[] = ['cpu', 'wasm'];

/** Runs the same suite once per backend, switching the process-wide backend first. */
export function describeEachBackend(title: string, body: (backend: BackendName) => void): void {
  for (const backend of TEST_BACKENDS) {
    describe(`${title} [${backend}]`, () => {
      beforeAll(async () => {
        await useBackend(backend);
      });
      body(backend);
    });
  }
}
