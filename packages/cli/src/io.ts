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

/** 0 ok, 1 a run (or a reporter) failed, 2 bad input, 130 interrupted (as a shell reports Ctrl-C). */
export const EXIT = { ok: 0, runFailed: 1, badInput: 2, interrupted: 130 } as const;
