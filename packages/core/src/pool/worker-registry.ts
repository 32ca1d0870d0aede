/** A worker process's registry: built from a module (registries cannot cross processes). */
import type { BackendInfo } from '../contracts.js';
import { loadPluginModules } from '../plugin-loader.js';
import type { Registry } from '../registry.js';

export interface WorkerRegistrySetup {
  /** A module exporting createRegistry() (or a default function) with the built-in plugins. */
  registryModule: string;
  /** The spec's own plugin modules, and the folder they are resolved from. */
  plugins: string[];
  baseDir: string;
  /** The backend reference, flattened: `{ name, label, ...config }`. */
  backend: Record<string, unknown>;
}

/** Builds the registry, loads the spec's plugins and activates the backend. */
export async function openWorkerRegistry(
  setup: WorkerRegistrySetup,
): Promise<{ registry: Registry; backend: BackendInfo }> {
  const module = (await import(setup.registryModule)) as Record<string, unknown>;
  const make = (module.createRegistry ?? module.default) as
    (() => Registry | Promise<Registry>) | undefined;
  if (typeof make !== 'function')
    throw new Error(`${setup.registryModule} exports no createRegistry()`);
  const registry = (await make()).child();
  const problems = await loadPluginModules(setup.plugins, registry, setup.baseDir);
  if (problems.length > 0)
    throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  const backend = await registry.create('backend', setup.backend, { path: 'backend' }).activate();
  return { registry, backend };
}
