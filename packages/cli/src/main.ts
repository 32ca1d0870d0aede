/** The `tdx` command, as a function of argv so tests can run it in-process. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { Registry } from '@tdx/core';
import { describeCommand } from './commands/describe.js';
import { doctorCommand } from './commands/doctor.js';
import { reportCommand } from './commands/report.js';
import { listCommand } from './commands/list.js';
import { runCommand, type RunOptions } from './commands/run.js';
import { setupCommand, type SetupCommandOptions } from './commands/setup.js';
import { validateCommand } from './commands/validate.js';
import { WORKER_HELP, workerCommand, type WorkerCommandOptions } from './commands/worker.js';
import { createDefaultRegistry } from './default-registry.js';
import { reportError } from './format-error.js';
import { EXIT, processIo, type CliIo } from './io.js';
import { withPluginModules } from './plugins-option.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** @tdx/cli's version, from its package.json (one folder up from both src/ and dist/). */
export const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

const SET_HELP = 'override a value of the spec, e.g. train.steps=100 (repeatable)';
const PLUGINS_HELP =
  "plugin modules to load first, package names or paths, as a spec's plugins: [...] (comma-separated or repeated)";

export async function main(
  argv: readonly string[],
  io: CliIo = processIo,
  makeRegistry: () => Registry = createDefaultRegistry,
): Promise<number> {
  let code: number = EXIT.ok;
  const debug = argv.includes('--debug') || process.env.TDX_DEBUG === '1';
  const program = new Command('tdx')
    .description('tdx: study how Transformers train. Specs in, runs, metrics and analyses out.')
    .version(VERSION, '-V, --version', "print tdx's version")
    .option('--debug', 'print stack traces of errors')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run tdx --help for usage)');

  program
    .command('run')
    .description(
      'run a spec: every model x optimizer x sweep point x seed, results in <out>/<spec name>/; ' +
        'finished runs are skipped and interrupted ones resumed',
    )
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('-o, --out <dir>', 'folder for results', 'runs')
    .option('-s, --set <path=value>', SET_HELP, collect, [])
    .option(
      '-w, --workers <n>',
      'runs at once, each in its own process (default: the number of cores)',
    )
    .option(
      '--analysis-workers <n>',
      'processes per run for analyses that split into parts, e.g. SLQ probes and blocks ' +
        '(default: the cores the runs at once leave free; 1: in the run itself)',
    )
    .option(
      '-b, --backend <name>',
      "backend to use instead of the spec's (auto, wasm, cpu, tensorflow; see tdx doctor)",
    )

    .option(
      '--checkpoint-every <steps>',
      'also save a checkpoint every this many steps (default: every 60 s)',
    )
    .option('--rerun', 'run again runs that already finished (old folders are moved aside)')
    .option(
      '--rerun-diverged',
      'run again runs that diverged (old folders are moved aside); others that finished are skipped',
    )
    .option(
      '--force-size',
      'run even if a run is estimated to need more memory, time or disk than this machine has',
    )
    .option(
      '-q, --queue <redis-url>',
      'run on the workers of a queue (`tdx worker`) instead of here: redis://[user:password@]host:port[/db], ' +
        'or rediss://... for TLS; the results still land in --out, as from a local run',
    )
    .option(
      '--detach',
      'with --queue: put the runs on the queue and return; the same command without --detach collects them later',
    )
    .option(
      '--queue-name <name>',
      'with --queue: the prefix of the keys in Redis (default tdx); submitters and workers must agree',
    )
    .option('--json', 'print progress events as JSON lines on stdout')
    .addHelpText(
      'after',
      `
On a queue (--queue), runs are resolved and checked here, exactly as for a local run, and each
run that needs work goes to the workers (\`tdx worker <redis-url>\` on any machines). What they
write comes back through Redis into the same folders and reports. A worker that dies: its runs
resume on another from their last checkpoint, with the same numbers. This command killed or
stopped (Ctrl-C): the runs go on; running it again reattaches and collects them. Redis
restarted: everyone reconnects (a Redis that lost its data gets the runs again, from what this
command had collected). The password of the URL is never printed or written.`,
    )
    .action(async (spec: string, options: RunOptions) => {
      code = await runCommand(spec, options, makeRegistry(), io);
    });

  program
    .command('worker')
    .description(
      'take runs from a queue (`tdx run --queue`) and execute them, on as many machines as you like',
    )
    .argument(
      '<redis-url>',
      'the queue: redis://[user:password@]host:port[/db], or rediss://... for TLS',
    )
    .option(
      '-c, --concurrency <n>',
      'runs at once, each in its own process (default: the number of cores)',
    )
    .option(
      '-b, --backend <name>',
      'the backend for runs whose spec says auto (a spec that names a backend gets that one)',
    )
    .option(
      '--analysis-workers <n>',
      'processes per run for analyses that split into parts (default 1: in the run itself)',
    )
    .option('--name <name>', 'this worker in messages and in Redis (default: host:pid)')
    .option(
      '--plugin-dir <dir>',
      "where the spec's plugin modules are looked for: paths relative to it, packages installed under it (default: the working folder)",
    )
    .option(
      '--scratch <dir>',
      'where runs execute before what they write goes to Redis (default: the temporary folder)',
    )
    .option(
      '--stall-seconds <s>',
      'how long the runs of a worker that died wait before others take them over (default 30)',
    )
    .option(
      '--queue-name <name>',
      'the prefix of the keys in Redis (default tdx); submitters and workers must agree',
    )
    .addHelpText('after', WORKER_HELP)
    .action(async (url: string, options: WorkerCommandOptions) => {
      code = await workerCommand(url, options, makeRegistry(), io);
    });

  program
    .command('report')
    .description("rebuild an experiment's summary.csv, report.html and figures from its files")
    .argument('<dir>', 'the folder of a spec, e.g. runs/quickstart')
    .option(
      '--plugins <modules>',
      'plugin modules to load for figures and reporters (comma-separated or repeated); ' +
        'those the results folder names are never loaded on their own',
      collect,
      [],
    )
    .action(async (dir: string, options: { plugins: string[] }) => {
      code = await reportCommand(dir, options, makeRegistry(), io);
    });

  program
    .command('validate')
    .description('check a spec and print it resolved, with every default; runs nothing')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('-s, --set <path=value>', SET_HELP, collect, [])
    .option('--force-size', 'accept runs estimated to need more than this machine has')
    .action(async (spec: string, options: { set: string[]; forceSize?: boolean }) => {
      code = await validateCommand(spec, makeRegistry(), io, options);
    });

  program
    .command('list')
    .description('list registered plugins, of one kind or all')
    .argument(
      '[kind]',
      'backend, trainer, dataset, model, attention-kernel, optimizer, analysis, reporter',
    )
    .option('--plugins <modules>', PLUGINS_HELP, collect, [])
    .action(async (kind: string | undefined, options: { plugins: string[] }) => {
      code = listCommand(kind, await withPluginModules(makeRegistry(), options.plugins), io);
    });

  program
    .command('describe')
    .description("show a plugin's config: fields, types, bounds, defaults and what each does")
    .argument('<kind>', 'plugin kind')
    .argument('<name>', 'plugin name')
    .option('--plugins <modules>', PLUGINS_HELP, collect, [])
    .action(async (kind: string, name: string, options: { plugins: string[] }) => {
      const registry = await withPluginModules(makeRegistry(), options.plugins);
      code = describeCommand(kind, name, registry, io);
    });

  program
    .command('setup')
    .description(
      'build the native TensorFlow backend from the npm registry and the TensorFlow wheel pip fetches ' +
        '(needs python3 with pip, a C++ compiler, make; idempotent)',
    )
    .argument('<what>', 'tensorflow')
    .option('--gpu', 'the CUDA build (tfjs-node-gpu, the tensorflow wheel and NVIDIA wheels)')
    .option('--force', 'compile the binding again even if one was compiled before')
    .action((what: string, options: SetupCommandOptions) => {
      code = setupCommand(what, options, io);
    });

  program
    .command('doctor')
    .description(
      'every backend: available or not (and why), versions, threads, and a one-second matmul rate',
    )
    .option('--json', 'print one JSON object')
    .option('--quick', 'skip the matmul rate')
    .action(async (options: { json?: boolean; quick?: boolean }) => {
      code = await doctorCommand(makeRegistry(), options, io);
    });

  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors (already printed) are bad input.
      return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    return reportError(error, io, debug);
  }
  return code;
}
