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

// PROVENANCE_GUARD_TIMING=1: one stderr line per process with the time spent in the hooks
// (used by the bench; pnpm 12's hook process also reports its uptime, node startup included).
let inHooks = 0;
let calls = 0;
const timed = <T>(run: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  calls++;
  return run().finally(() => (inHooks += performance.now() - started));
};
const timing = process.env.PROVENANCE_GUARD_TIMING === '1';
if (timing) {
  process.once('exit', () => {
    if (calls > 0) process.stderr.write(`provenance-guard timing: hooks ${inHooks.toFixed(1)} ms in ${calls} calls, process uptime ${performance.now().toFixed(1)} ms\n`);
  });
}

const hooks: PnpmHooks = {
  readPackage: (manifest, context) => (timing ? timed(() => impl().readPackage(manifest, context)) : impl().readPackage(manifest, context)),
  preResolution: (context) => (timing ? timed(() => impl().preResolution(context)) : impl().preResolution(context)),
  afterAllResolved: (lockfile) => impl().afterAllResolved(lockfile),
};

export = { hooks };
