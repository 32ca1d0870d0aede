/**
 * Loads the modules a spec lists under `plugins` and registers what they export.
 *
 * A plugin module exports `register(registry)`, or a default export that is a plugin or
 * an array of plugins, or a `plugins` array. Relative paths are resolved from the spec's
 * folder; package names from the spec's folder first, then from tdx's own install.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TdxError, isTdxError, type Problem } from './errors.js';
import type { AnyPlugin } from './plugin.js';
import type { Registry } from './registry.js';

function isPathLike(specifier: string): boolean {
  return specifier.startsWith('./') || specifier.startsWith('../') || isAbsolute(specifier);
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

const TYPESCRIPT = /\.(c|m)?tsx?$/;

/**
 * Node 20 cannot import TypeScript. A `.ts` plugin is loaded through tsx's loader when tsx is
 * installed (it is a devDependency of the tdx repository; `npm install -D tsx` elsewhere);
 * otherwise the error says to install it or compile the plugin to JavaScript.
 */
async function enableTypeScript(specifier: string): Promise<void> {
  try {
    const { register } = (await import(/* @vite-ignore */ 'tsx/esm/api')) as {
      register: () => unknown;
    };
    register();
  } catch (cause) {
    throw new TdxError(
      'PLUGIN_LOAD',
      `plugin module "${specifier}" is TypeScript, which Node cannot import by itself`,
      {
        cause,
        hint: 'install tsx next to tdx (npm install -D tsx) so tdx can load it, or compile it to JavaScript (npx tsc) and list the .js file',
      },
    );
  }
}

/**
 * A package that resolves but whose entry file is missing is installed and not built (a
 * workspace package before `npm run build`): say exactly that.
 */
function unbuiltPackage(specifier: string, baseDir: string): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const start of [baseDir, here]) {
    const manifest = findManifest(specifier, start);
    if (!manifest) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
      main?: string;
      exports?: { '.'?: { default?: string } | string } | string;
    };
    const dot = typeof pkg.exports === 'string' ? pkg.exports : pkg.exports?.['.'];
    const entry = (typeof dot === 'string' ? dot : dot?.default) ?? pkg.main ?? 'index.js';
    const file = resolve(dirname(manifest), entry);
    if (!existsSync(file))
      return `${specifier} is installed (${dirname(manifest)}) but not built: ${file} is missing`;
  }
  return undefined;
}

/** node_modules/<specifier>/package.json in `start` or a folder above it (exports may hide it). */
function findManifest(specifier: string, start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', ...specifier.split('/'), 'package.json');
    if (existsSync(manifest)) return manifest;
    if (dirname(dir) === dir) return undefined;
  }
}

async function importModule(specifier: string, baseDir: string): Promise<Record<string, unknown>> {
  if (isPathLike(specifier)) {
    if (TYPESCRIPT.test(specifier)) await enableTypeScript(specifier);
    return (await import(pathToFileURL(resolve(baseDir, specifier)).href)) as Record<
      string,
      unknown
    >;
  }
  // A package installed next to the spec wins over one installed next to tdx.
  let local: string | undefined;
  try {
    local = createRequire(join(baseDir, 'noop.js')).resolve(specifier);
  } catch {
    local = undefined;
  }
  if (local) {
    try {
      return (await import(pathToFileURL(local).href)) as Record<string, unknown>;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return (await import(specifier)) as Record<string, unknown>;
}

function pluginsExportedBy(module: Record<string, unknown>): AnyPlugin[] | undefined {
  const candidates = [module.default, module.plugins];
  for (const c of candidates) {
    if (Array.isArray(c)) return c as AnyPlugin[];
    if (c && typeof c === 'object' && 'kind' in c && 'create' in c) return [c as AnyPlugin];
  }
  return undefined;
}

/**
 * How long a plugin module may take to import and register (default 30 s; the environment
 * variable TDX_PLUGIN_TIMEOUT, in seconds, changes it). An import that never settles (a
 * top-level await that waits forever) fails with PLUGIN_LOAD instead of leaving tdx waiting.
 */
export function pluginTimeoutMs(): number {
  const fromEnv = Number(process.env.TDX_PLUGIN_TIMEOUT);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv * 1000 : 30_000;
}

/** `work`, or a rejection after `ms` with `timedOut()`; the timer never keeps the process up. */
function withTimeout<T>(work: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Imports one plugin module and registers its plugins; throws PLUGIN_LOAD or PLUGIN_CONTRACT. */
export async function loadPluginModule(
  specifier: string,
  registry: Registry,
  baseDir: string = process.cwd(),
): Promise<void> {
  const timeoutMs = pluginTimeoutMs();
  const timedOut = (what: string) => () =>
    new TdxError(
      'PLUGIN_LOAD',
      `plugin module "${specifier}" did not finish ${what} within ${timeoutMs / 1000} s`,
      {
        hint:
          'something in it waits forever (a top-level await, a register() whose promise never ' +
          'settles); fix the module, or raise the limit with TDX_PLUGIN_TIMEOUT=<seconds>',
      },
    );
  let module: Record<string, unknown>;
  try {
    module = await withTimeout(importModule(specifier, baseDir), timeoutMs, timedOut('loading'));
  } catch (cause) {
    if (isTdxError(cause)) throw cause;
    const message = cause instanceof Error ? cause.message.split('\n')[0]! : String(cause);
    const unbuilt = isPathLike(specifier) ? undefined : unbuiltPackage(specifier, baseDir);
    if (unbuilt)
      throw new TdxError('PLUGIN_LOAD', `cannot import plugin module "${specifier}": ${unbuilt}`, {
        cause,
        hint: 'build it (in the tdx repository: npm run build), then run again',
      });
    throw new TdxError('PLUGIN_LOAD', `cannot import plugin module "${specifier}": ${message}`, {
      cause,
      hint: isPathLike(specifier)
        ? `paths are relative to the spec's folder (${baseDir})`
        : `install it (npm install ${specifier}) or give a path such as ./my-plugin.js`,
    });
  }
  const register =
    module.register ?? (module.default as { register?: unknown } | undefined)?.register;
  if (typeof register === 'function') {
    try {
      await withTimeout(
        Promise.resolve().then(() => (register as (r: Registry) => unknown)(registry)),
        timeoutMs,
        timedOut('register()'),
      );
    } catch (cause) {
      if (isTdxError(cause) && cause.code === 'PLUGIN_LOAD') throw cause;
      const message = cause instanceof Error ? cause.message.split('\n')[0]! : String(cause);
      throw new TdxError(
        'PLUGIN_LOAD',
        `plugin module "${specifier}": its register(registry) failed: ${message}`,
        {
          cause,
          hint: "the module's own code failed while registering its plugins: fix it, or ask its author",
        },
      );
    }
    return;
  }
  const plugins = pluginsExportedBy(module);
  if (!plugins) {
    throw new TdxError('PLUGIN_CONTRACT', `plugin module "${specifier}" registers nothing`, {
      hint: 'export register(registry), a default plugin (or array of plugins), or a plugins array',
    });
  }
  registry.register(...plugins);
}

/** Loads every module, collecting one problem per module that fails (path `plugins[i]`). */
export async function loadPluginModules(
  specifiers: readonly string[],
  registry: Registry,
  baseDir: string = process.cwd(),
): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const [i, specifier] of specifiers.entries()) {
    try {
      await loadPluginModule(specifier, registry, baseDir);
    } catch (error) {
      if (!isTdxError(error)) throw error;
      problems.push({
        path: `plugins[${i}]`,
        message: error.message,
        ...(error.hint ? { hint: error.hint } : {}),
      });
    }
  }
  return problems;
}
