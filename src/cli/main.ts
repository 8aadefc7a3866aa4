import { errorText, isGuardError, UsageError } from '../errors';
import { VERSION } from '../version';
import { fullUsage } from './args';
import { helpOf, wantsHelp } from './help';
import { exitWith, processContext, type CliContext } from './context';

// Commands are imported on demand: every install and CI run pays the start-up cost.

/** Runs one CLI invocation and returns its exit code; user errors are printed without a stack. */
export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  const help = command !== undefined && wantsHelp(rest) ? helpFor(command, rest) : undefined;
  if (help !== undefined) {
    ctx.stdout.write(`${help}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'check':
        return await (await import('./check')).checkCommand(rest, ctx);
      case 'explain':
        return await (await import('./explain')).explainCommand(rest, ctx);
      case 'feed':
        return await (await import('./feed')).feedCommand(rest, ctx);
      case 'npm':
        return await (await import('./npm')).npmCommand(rest, ctx);
      case 'npx':
        return await (await import('./npm')).npxCommand(rest, ctx);
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
        throw new UsageError(`unknown command "${command}"\n\n${fullUsage()}`, { code: 'ERR_PG_USAGE_UNKNOWN_COMMAND' });
    }
  } catch (error) {
    if (isGuardError(error)) {
      ctx.stderr.write(`provenance-guard: ${errorText(error)}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

/** The help of `command` (or of `feed SUB`); undefined for commands that print their own. */
function helpFor(command: string, rest: string[]): string | undefined {
  if (command !== 'feed') return helpOf(command);
  const sub = rest[0];
  if (sub && !sub.startsWith('-')) return helpOf(`feed ${sub}`);
  return ['Usage: provenance-guard feed keygen|build|update|merge|verify|trust …', '', ...['keygen', 'build', 'update', 'merge', 'verify', 'trust'].map((s) => `  ${helpOf(`feed ${s}`)!.split('\n')[0]!.replace('Usage: ', '')}`), '', '`provenance-guard feed SUBCOMMAND --help` describes its flags.'].join('\n');
}

if (require.main === module) exitWith(run(process.argv.slice(2), processContext()));
