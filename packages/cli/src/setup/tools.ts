/**
 * The programs `tdx setup tensorflow` needs, found or reported missing with the command that
 * installs them, before anything is downloaded or built.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TdxError } from '@tdx/core';

export interface Toolchain {
  python: string;
  /** The folder holding node_api.h, for node-gyp's --nodedir. */
  nodeDir: string;
}

/** What a program printed for `args`, or undefined when it cannot run. */
function probe(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`.trim();
}

/** Node's headers: in its install prefix (include/node), where Debian's and nvm's put them. */
export function nodeHeadersDir(execPath = process.execPath): string | undefined {
  const prefix = dirname(dirname(execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** Checks python3 with pip, a C++ compiler, make and Node's headers; throws listing what lacks. */
export function checkToolchain(): Toolchain {
  const missing: string[] = [];
  const python = process.env.TDX_PYTHON ?? 'python3';
  if (!probe(python, ['--version'])) missing.push(`${python} (apt-get install -y python3)`);
  else if (!probe(python, ['-m', 'pip', '--version']))
    missing.push(`pip for ${python} (apt-get install -y python3-pip)`);
  if (!probe('g++', ['--version']) && !probe('c++', ['--version']))
    missing.push('a C++ compiler (apt-get install -y g++)');
  if (!probe('make', ['--version'])) missing.push('make (apt-get install -y make)');
  const nodeDir = nodeHeadersDir();
  if (!nodeDir)
    missing.push(
      `Node's headers (include/node/node_api.h next to ${process.execPath}; Debian: apt-get install -y libnode-dev, or a Node from nodejs.org, which ships them)`,
    );
  if (missing.length > 0 || !nodeDir)
    throw new TdxError(
      'BACKEND_UNAVAILABLE',
      `building the tensorflow backend needs programs this machine lacks: ${missing.join('; ')}`,
      { hint: 'install them and run `tdx setup tensorflow` again' },
    );
  return { python, nodeDir };
}
