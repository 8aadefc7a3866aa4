/** What a command needs from its process, passed in so tests can run commands in-process. */
export interface CliContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

let stdoutFailed = false;

/**
 * A reader that goes away (`check | head`) must not turn into a stack trace: the command finishes
 * and its exit code still tells the verdict. Any other failure to write the report is exit 2.
 */
function guardStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return;
    if (!stdoutFailed) process.stderr.write(`provenance-guard: could not write to standard output: ${error.message}\n`);
    stdoutFailed = true;
    process.exitCode = 2;
  });
}

/** This process's context. */
export function processContext(): CliContext {
  guardStdout();
  return { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr };
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
