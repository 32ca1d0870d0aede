/**
 * A worker process's registry, built by the function its script hands to core (registries
 * cannot cross processes): the caller's script imports core, never the other way round.
 */
import type { BackendInfo } from '../contracts.js';
import { loadPluginModules } from '../plugin-loader.js';
import type { Registry } from '../registry.js';

/** Builds the registry with the built-in plugins, as the parent process has them. */
export type RegistryFactory = () => Registry | Promise<Registry>;

export interface WorkerRegistrySetup {
  /** The spec's own plugin modules, and the folder they are resolved from. */
  plugins: string[];
  baseDir: string;
  /** The backend reference, flattened: `{ name, label, ...config }`. */
  backend: Record<string, unknown>;
}

/** Builds the registry, loads the spec's plugins and activates the backend. */
export async function openWorkerRegistry(
  createRegistry: RegistryFactory,
  setup: WorkerRegistrySetup,
): Promise<{ registry: Registry; backend: BackendInfo }> {
  const registry = (await createRegistry()).child();
  const problems = await loadPluginModules(setup.plugins, registry, setup.baseDir);
  if (problems.length > 0)
    throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  const backend = await registry.create('backend', setup.backend, { path: 'backend' }).activate();
  return { registry, backend };
}
