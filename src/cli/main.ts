import { isGuardError } from '../errors';
import { VERSION } from '../version';
import { fullUsage } from './args';
import { checkCommand } from './check';
import type { CliContext } from './context';
import { explainCommand } from './explain';
import { feedCommand } from './feed';
import { initCommand } from './init';

/** Runs one CLI invocation and returns its exit code; user errors are printed without a stack. */
export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'check':
        return await checkCommand(rest, ctx);
      case 'explain':
        return await explainCommand(rest, ctx);
      case 'feed':
        return await feedCommand(rest, ctx);
      case 'init':
        return await initCommand(rest, ctx);
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
