/** The hooks with their real dependencies; loaded on the first hook call (see pnpmfile.ts). */
import { createGuard, failureMode, resolveGuardInputs, type GuardOptions } from '../../src/guard';
import { stateDir } from '../../src/paths';
import { rememberedConfig } from '../../src/verdict-store';
import { createPnpmHooks } from './hooks';
import { pnpmVerdictFile } from './verdict-reuse';

/** The config, spared parsing when the stored verdict of this lockfile directory remembers it unchanged (src/config/memo.ts). */
function resolveInputs(options: GuardOptions) {
  return resolveGuardInputs({ ...options, ...rememberedConfig(pnpmVerdictFile(options.cwd, stateDir(options.env)), options.env) });
}

export const hooks = createPnpmHooks({
  createGuard,
  resolveInputs,
  modeAfterFailure: (cwd, env, fallbackCwds) => failureMode({ cwd, env, ...(fallbackCwds ? { fallbackCwds } : {}) }),
});
