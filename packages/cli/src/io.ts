/** Where the command writes: injectable, so tests can run the command in-process. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal: progress redraws one line instead of printing many. */
  isTTY: boolean;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stderr.isTTY),
};

/**
 * 0 ok; 1 a run (or a reporter) failed, or results could not be written; 2 bad input (spec,
 * arguments, plugins, sizes that cannot fit); 3 every run finished but one diverged (its loss
 * became non-finite); 130 interrupted by Ctrl-C and 143 by SIGTERM (as a shell reports them).
 */
export const EXIT = {
  ok: 0,
  runFailed: 1,
  badInput: 2,
  diverged: 3,
  interrupted: 130,
  terminated: 143,
} as const;
