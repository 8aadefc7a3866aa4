/**
 * The guard, created once per process on first use. A config or feed that cannot be set up
 * fails closed unless the mode (read again without the feed) is warn or off.
 * The config is looked up from the lockfile directory; when none is found there (pnpm deploy
 * installs into a directory outside the project), from the directory pnpm was invoked from:
 * the invoking project's policy governs, never "no policy".
 */
import type { Guard, GuardOptions } from '../../src/guard';
import { errorText } from '../../src/errors';
import { configLine } from '../../src/report/config-line';
import type { Mode } from '../../src/types';
import { failClosedError } from './messages';

export interface GuardLoaderDependencies {
  createGuard: (options: GuardOptions) => Promise<Guard>;
  /** Reads the mode when createGuard fails, to decide between failing closed and warning. */
  modeAfterFailure: (cwd: string, env: NodeJS.ProcessEnv, fallbackCwds: readonly string[]) => Promise<Mode | undefined>;
  env: NodeJS.ProcessEnv;
  write: (text: string) => void;
  /** The directory pnpm was invoked from (pnpm 10: its process; pnpm 12: the hook child inherits it). */
  invokedFrom: string;
}

/** Returns the guard, undefined under `mode: off` or after a warn-mode setup failure. */
export type GuardLoader = (cwd: string) => Promise<Guard | undefined>;

export function createGuardLoader(deps: GuardLoaderDependencies): GuardLoader {
  let pending: Promise<Guard | undefined> | undefined;
  const load = async (dir: string): Promise<Guard | undefined> => {
    const fallbackCwds = [deps.invokedFrom];
    try {
      const created = await deps.createGuard({ cwd: dir, fallbackCwds, env: deps.env });
      deps.write(`${configLine(created.config)}\n`);
      return created.config.mode === 'off' ? undefined : created;
    } catch (error) {
      const mode = await deps.modeAfterFailure(dir, deps.env, fallbackCwds).catch(() => undefined);
      if (mode === 'off') return undefined;
      if (mode === 'warn') {
        deps.write(`provenance-guard: ${errorText(error)}\nprovenance-guard: warn mode: continuing without checking packages\n`);
        return undefined;
      }
      throw failClosedError(error);
    }
  };
  return (cwd) => (pending ??= load(cwd));
}
