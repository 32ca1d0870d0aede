import { beforeAll, describe } from 'vitest';
import { exactnessBackends, useBackend, type BackendName } from '../../src/index.js';

/** The backends every numerical test runs on (tensorflow where it is built). */
export const TEST_BACKENDS: readonly BackendName[] = exactnessBackends();

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
