/**
 * The backends that tdx's exactness tests (gradients, Hessian-vector products, spectra) run
 * on: cpu and wasm everywhere, and tensorflow where `tdx setup tensorflow` has built it. With
 * TDX_REQUIRE_TENSORFLOW=1 (CI after building it) a missing native backend is an error, so the
 * native suites can never be skipped without anyone noticing.
 */
import type { BackendName } from './activate.js';
import { nativeBackendStatus } from './native.js';

export function exactnessBackends(): Array<Exclude<BackendName, 'auto'>> {
  const status = nativeBackendStatus('auto');
  if (status.ready) return ['cpu', 'wasm', 'tensorflow'];
  if (process.env.TDX_REQUIRE_TENSORFLOW === '1')
    throw new Error(
      `TDX_REQUIRE_TENSORFLOW=1 but the tensorflow backend is not available: ${status.reason}`,
    );
  return ['cpu', 'wasm'];
}
