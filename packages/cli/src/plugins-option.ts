/** `--plugins <module>` of `tdx list` and `tdx describe`: plugin packages a spec would load. */
import { loadPluginModules, TdxError, type Registry } from '@tdx/core';

/**
 * A child of `registry` with the plugins of `modules` registered, through the same loader a
 * spec's `plugins: [...]` uses (package names resolved from `baseDir` first, then from tdx's
 * own install). Every module that fails is reported, with exit code 2.
 */
export async function withPluginModules(
  registry: Registry,
  options: readonly string[],
  baseDir: string = process.cwd(),
): Promise<Registry> {
  // `--plugins a,b --plugins c`, as `tdx report --plugins` takes them.
  const modules = options.flatMap((o) =>
    o
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean),
  );
  if (modules.length === 0) return registry;
  const child = registry.child();
  const problems = await loadPluginModules(modules, child, baseDir);
  if (problems.length > 0)
    throw new TdxError(
      'PLUGIN_LOAD',
      `${problems.length} of the --plugins module(s) could not be loaded`,
      {
        problems: problems.map((p) => {
          const i = Number(/^plugins\[(\d+)\]$/.exec(p.path)?.[1]);
          // The loader speaks of a spec's folder; here paths are relative to the current one.
          const hint = p.hint?.replace("the spec's folder", 'the current folder');
          return { ...p, path: `--plugins ${modules[i] ?? p.path}`, ...(hint ? { hint } : {}) };
        }),
      },
    );
  return child;
}
