/** `provenance-guard npm …` and `provenance-guard npx …`: npm with the guard in front (see src/npm/). */
import { npxWithGuard } from '../npm/exec';
import { npmWithGuard } from '../npm/install';
import type { CliContext } from './context';

function gateContext(ctx: CliContext) {
  return { cwd: ctx.cwd, env: ctx.env, write: (text: string) => void ctx.stderr.write(text) };
}

export function npmCommand(argv: string[], ctx: CliContext): Promise<number> {
  return npmWithGuard(argv, gateContext(ctx));
}

export function npxCommand(argv: string[], ctx: CliContext): Promise<number> {
  return npxWithGuard(argv, gateContext(ctx));
}
