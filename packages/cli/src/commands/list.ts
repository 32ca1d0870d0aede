import { PLUGIN_KINDS, TdxError, choicesHint, type PluginKind, type Registry } from '@tdx/core';
import { EXIT, type CliIo } from '../io.js';

export function checkKind(kind: string): PluginKind {
  if (!(PLUGIN_KINDS as readonly string[]).includes(kind)) {
    throw new TdxError('INVALID_ARGUMENT', `unknown plugin kind "${kind}"`, {
      hint: choicesHint(kind, PLUGIN_KINDS, 'kinds'),
    });
  }
  return kind as PluginKind;
}

/** `tdx list [kind]`: every registered plugin with its description. */
export function listCommand(kind: string | undefined, registry: Registry, io: CliIo): number {
  const kinds = kind === undefined ? PLUGIN_KINDS : [checkKind(kind)];
  for (const k of kinds) {
    const plugins = registry.list(k);
    if (plugins.length === 0 && kind === undefined) continue;
    io.out(`${k}\n`);
    const width = Math.max(0, ...plugins.map((p) => p.name.length));
    for (const p of plugins) io.out(`  ${p.name.padEnd(width)}  ${p.description}\n`);
    if (plugins.length === 0) io.out('  (none registered)\n');
  }
  return EXIT.ok;
}
