/** The hooks with their real dependencies; loaded on the first hook call (see pnpmfile.ts). */
import { createGuard, failureMode, resolveGuardInputs } from '../../src/guard';
import { createPnpmHooks } from './hooks';

export const hooks = createPnpmHooks({
  createGuard,
  resolveInputs: resolveGuardInputs,
  modeAfterFailure: (cwd, env, fallbackCwds) => failureMode({ cwd, env, ...(fallbackCwds ? { fallbackCwds } : {}) }),
});
