/** `tdx setup tensorflow [--gpu] [--force]`: builds the native backend (see ../setup/). */
import { TdxError } from '@tdx/core';
import { EXIT, type CliIo } from '../io.js';
import { setupTensorflow } from '../setup/setup-tensorflow.js';

export interface SetupCommandOptions {
  gpu?: boolean;
  force?: boolean;
}

export function setupCommand(what: string, options: SetupCommandOptions, io: CliIo): number {
  if (what !== 'tensorflow')
    throw new TdxError('INVALID_ARGUMENT', `unknown setup target "${what}"`, {
      hint: 'tdx setup tensorflow [--gpu]: builds the native TensorFlow backend',
    });
  const device = options.gpu ? 'gpu' : 'cpu';
  const started = Date.now();
  const record = setupTensorflow({
    device,
    force: options.force ?? false,
    log: (line) => io.err(`tdx setup: ${line}\n`),
  });
  io.out(
    `the tensorflow backend is ready: ${record.package}@${record.tfjs} on TensorFlow ${record.tensorflow} ` +
      `(${record.wheel}), in ${((Date.now() - started) / 1000).toFixed(0)} s\n` +
      `  package  ${record.packageDir}\n  binding  ${record.binding}\n  cache    ${record.cache}\n` +
      'use it with `backend: tensorflow` in a spec, `--backend tensorflow`, or `backend: auto` (the default)\n',
  );
  return EXIT.ok;
}
