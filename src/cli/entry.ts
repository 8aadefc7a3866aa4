/**
 * The `provenance-guard` executable (dist/cli.cjs). A repeat `check` of an unchanged, installed
 * project is answered from its stored verdict by this small bundle alone (check-reuse.ts: the same
 * code and key as the full command). Everything else, and any run it cannot answer, loads the
 * full CLI (dist/cli-main.cjs), which starts again from the arguments.
 */
import { join } from 'node:path';
import { answerFromVerdict } from './check-reuse';
import { exitWith, processContext, type CliContext } from './context';
import type * as Main from './main';

async function main(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === 'check') {
    const code = await answerFromVerdict(argv.slice(1), ctx).catch(() => undefined);
    if (code !== undefined) return code;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const full = require(join(__dirname, 'cli-main.cjs')) as typeof Main;
  return full.run(argv, ctx);
}

exitWith(main(process.argv.slice(2), processContext()));
