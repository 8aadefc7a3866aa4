/**
 * The guard, created once per process on first use. A config or feed that cannot be set up
 * fails closed unless the mode (read again without the feed) is warn or off.
 * The config is looked up from the lockfile directory; when none is found there (pnpm deploy
 * installs into a directory outside the project), from the directory pnpm was invoked from:
 * the invoking project's policy governs, never "no policy".
 *
 * Two stages, so a reused verdict (verdict-reuse.ts) needs only the first: the inputs (config
 * loaded, feed source resolved to a local file, nothing opened), then the guard built from them.
 */
import type { Guard, GuardInputs, GuardOptions } from '../../src/guard';
import { errorText } from '../../src/errors';
import { configLine } from '../../src/report/config-line';
import type { Mode } from '../../src/types';
import { failClosedError } from './messages';

export interface GuardLoaderDependencies {
  createGuard: (options: GuardOptions, inputs?: GuardInputs) => Promise<Guard>;
  /** Resolves what createGuard would build from, without opening the feed (absent: no verdict reuse). */
  resolveInputs?: (options: GuardOptions) => Promise<GuardInputs>;
  /** Reads the mode when createGuard fails, to decide between failing closed and warning. */
  modeAfterFailure: (cwd: string, env: NodeJS.ProcessEnv, fallbackCwds: readonly string[]) => Promise<Mode | undefined>;
  env: NodeJS.ProcessEnv;
  write: (text: string) => void;
  /** The directory pnpm was invoked from (pnpm 10: its process; pnpm 12: the hook child inherits it). */
  invokedFrom: string;
}

/** Returns the guard, undefined under `mode: off` or after a warn-mode setup failure. */
export type GuardLoader = (cwd: string) => Promise<Guard | undefined>;

export interface GuardStages {
  /** The resolved inputs; undefined under `mode: off`, after a warn-mode setup failure, or without resolveInputs. */
  inputs: (cwd: string) => Promise<GuardInputs | undefined>;
  guard: GuardLoader;
}

export function createGuardLoader(deps: GuardLoaderDependencies): GuardLoader {
  return createGuardStages(deps).guard;
}

export function createGuardStages(deps: GuardLoaderDependencies): GuardStages {
  let pendingInputs: Promise<GuardInputs | undefined> | undefined;
  let pendingGuard: Promise<Guard | undefined> | undefined;
  let announced = false;
  const options = (dir: string): GuardOptions => ({ cwd: dir, fallbackCwds: [deps.invokedFrom], env: deps.env });
  const announce = (config: Guard['config']) => {
    if (!announced) deps.write(`${configLine(config)}\n`);
    announced = true;
  };
  const failed = async (dir: string, error: unknown): Promise<undefined> => {
    const mode = await deps.modeAfterFailure(dir, deps.env, [deps.invokedFrom]).catch(() => undefined);
    if (mode === 'off') return undefined;
    if (mode === 'warn') {
      deps.write(`provenance-guard: ${errorText(error)}\nprovenance-guard: warn mode: continuing without checking packages\n`);
      return undefined;
    }
    throw failClosedError(error);
  };
  const loadInputs = async (dir: string): Promise<GuardInputs | undefined> => {
    if (!deps.resolveInputs) return undefined;
    try {
      const inputs = await deps.resolveInputs(options(dir));
      announce(inputs.config);
      return inputs.config.mode === 'off' ? undefined : inputs;
    } catch (error) {
      return failed(dir, error);
    }
  };
  const loadGuard = async (dir: string): Promise<Guard | undefined> => {
    let inputs: GuardInputs | undefined;
    if (deps.resolveInputs) {
      inputs = await (pendingInputs ??= loadInputs(dir));
      if (!inputs) return undefined;
    }
    try {
      const created = await deps.createGuard(options(dir), inputs);
      announce(created.config);
      return created.config.mode === 'off' ? undefined : created;
    } catch (error) {
      return failed(dir, error);
    }
  };
  return {
    inputs: (cwd) => (pendingInputs ??= loadInputs(cwd)),
    guard: (cwd) => (pendingGuard ??= loadGuard(cwd)),
  };
}
