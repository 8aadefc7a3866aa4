/** The hooks with their real dependencies; loaded on the first hook call (see pnpmfile.ts). */
import { loadConfig } from '../../src/config/load';
import { createGuard } from '../../src/guard';
import { createPnpmHooks } from './hooks';

export const hooks = createPnpmHooks({
  createGuard,
  async modeAfterFailure(cwd, env) {
    try {
      return (await loadConfig({ cwd, env })).mode;
    } catch {
      const mode = env.PROVENANCE_GUARD_MODE;
      return mode === 'warn' || mode === 'off' ? mode : undefined;
    }
  },
});
