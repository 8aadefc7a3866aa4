/**
 * The pnpmfile bundle (plugins/pnpm/dist/pnpmfile.cjs, and `pnpmfile.cjs` of the config
 * dependency pnpm-plugin-provenance-guard): `module.exports = { hooks }`.
 */
import { loadConfig } from '../../src/config/load';
import { createGuard } from '../../src/guard';
import { createPnpmHooks } from './hooks';

const hooks = createPnpmHooks({
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

export = { hooks };
