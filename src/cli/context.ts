/** What a command needs from its process, passed in so tests can run commands in-process. */
import { FdOutput, type Output } from './output';

export interface CliContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: Output;
  stderr: Output;
}

let stdoutFailed = false;
let outputs: FdOutput[] = [];

/**
 * This process's context. A reader that goes away (`check | head`) must not turn into a stack
 * trace: the command finishes and its exit code still tells the verdict. Any other failure to
 * write the report is exit 2.
 */
export function processContext(): CliContext {
  const stderr = new FdOutput(2);
  const stdout = new FdOutput(1, {
    onError: (error) => {
      if (!stdoutFailed) stderr.write(`provenance-guard: could not write to standard output: ${error.message}\n`);
      stdoutFailed = true;
      process.exitCode = 2;
    },
  });
  outputs = [stdout, stderr];
  return { cwd: process.cwd(), env: process.env, stdout, stderr };
}

/** Sets the process's exit code from a run; an error that escaped every command is a bug to report. */
export function exitWith(run: Promise<number>): void {
  run.then(
    (code) => {
      process.exitCode = stdoutFailed ? 2 : code;
    },
    (error: unknown) => {
      process.stderr.write(`provenance-guard: internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}

/**
 * Ends the process with `code` now, when every byte of its output is written (nothing waits in a
 * stream): Node's own end of a process that has nothing left to do costs ~3 ms more (measured on
 * a repeat `check`). For a run that did only synchronous work (the executable's own answer).
 */
export function exitAtOnce(code: number): void {
  process.exitCode = stdoutFailed ? 2 : code;
  if (outputs.every((output) => !output.pending)) process.exit();
}
