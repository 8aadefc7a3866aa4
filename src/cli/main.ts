import { isGuardError } from '../errors';
import { VERSION } from '../version';
import { fullUsage } from './args';
import type { CliContext } from './context';

// Commands are imported on demand: every install and CI run pays the start-up cost.

/** Runs one CLI invocation and returns its exit code; user errors are printed without a stack. */
export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'check':
        return await (await import('./check')).checkCommand(rest, ctx);
      case 'explain':
        return await (await import('./explain')).explainCommand(rest, ctx);
      case 'feed':
        return await (await import('./feed')).feedCommand(rest, ctx);
      case 'verify':
        return await (await import('./verify')).verifyCommand(rest, ctx);
      case 'init':
        return await (await import('./init')).initCommand(rest, ctx);
      case '--version':
      case '-v':
        ctx.stdout.write(`${VERSION}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        ctx.stdout.write(`${fullUsage()}\n`);
        return command === undefined ? 2 : 0;
      default:
        ctx.stderr.write(`provenance-guard: unknown command "${command}"\n\n${fullUsage()}\n`);
        return 2;
    }
  } catch (error) {
    if (isGuardError(error)) {
      ctx.stderr.write(`provenance-guard: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

if (require.main === module) {
  run(process.argv.slice(2), { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`provenance-guard: internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
