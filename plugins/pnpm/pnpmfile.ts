/**
 * The pnpmfile bundle (plugins/pnpm/dist/pnpmfile.cjs, and `pnpmfile.cjs` of the config
 * dependency pnpm-plugin-provenance-guard): `module.exports = { hooks }`.
 * Everything else loads on the first hook call: pnpm 12 also loads the pnpmfile in a process
 * that only asks which hooks exist.
 */
import type { PnpmHooks } from './hooks';

let loaded: PnpmHooks | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const impl = (): PnpmHooks => (loaded ??= (require('./runtime') as typeof import('./runtime')).hooks);

const hooks: PnpmHooks = {
  readPackage: (manifest, context) => impl().readPackage(manifest, context),
  preResolution: (context) => impl().preResolution(context),
  afterAllResolved: (lockfile) => impl().afterAllResolved(lockfile),
};

export = { hooks };
