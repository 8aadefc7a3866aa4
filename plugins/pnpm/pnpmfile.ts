/**
 * The pnpmfile bundle (plugins/pnpm/dist/pnpmfile.cjs, and `pnpmfile.cjs` of the config
 * dependency pnpm-plugin-provenance-guard): `module.exports = { hooks }`.
 * Everything else loads on the first hook call: pnpm 12 also loads the pnpmfile in a process
 * that only asks which hooks exist.
 */
import type { PnpmHooks } from './hooks';
import { pnpmArgv, unhookedCommandOf } from './invocation';

let loaded: PnpmHooks | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const impl = (): PnpmHooks => (loaded ??= (require('./runtime') as typeof import('./runtime')).hooks);

// PROVENANCE_GUARD_TIMING=1: a stderr line with the time spent in the hooks so far
// (used by the bench; pnpm 12's hook process also reports its uptime, node startup included).
let inHooks = 0;
let cpuInHooks = 0;
let calls = 0;
let reported = 0;
const timing = process.env.PROVENANCE_GUARD_TIMING === '1';
const report = (): void => {
  if (calls === reported) return;
  reported = calls;
  // CPU time (this process, all threads) beside wall time: on a loaded machine wall time mostly measures the wait for a core.
  process.stderr.write(`provenance-guard timing: hooks ${inHooks.toFixed(1)} ms in ${calls} calls, process uptime ${performance.now().toFixed(1)} ms, cpu in hooks ${cpuInHooks.toFixed(1)} ms\n`);
};
const timed = <T>(run: () => Promise<T>, last: boolean): Promise<T> => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  calls++;
  return run().finally(() => {
    inHooks += performance.now() - started;
    const used = process.cpuUsage(cpu);
    cpuInHooks += (used.user + used.system) / 1000;
    // pnpm 12 may end its hook process without an 'exit' event: report after preResolution too.
    if (last) report();
  });
};
if (timing) {
  process.once('exit', report);
  // The first cpuUsage() call initialises it (several ms): not the hooks' cost.
  process.cpuUsage();
}

const hooks: PnpmHooks = {
  // Every pnpm command calls updateConfig: only those no other hook gates load the guard.
  updateConfig: (config) => (unhookedCommandOf(pnpmArgv()) !== undefined ? impl().updateConfig(config) : Promise.resolve(config)),
  readPackage: (manifest, context) => (timing ? timed(() => impl().readPackage(manifest, context), false) : impl().readPackage(manifest, context)),
  preResolution: (context) => (timing ? timed(() => impl().preResolution(context), true) : impl().preResolution(context)),
  afterAllResolved: (lockfile) => impl().afterAllResolved(lockfile),
};

export = { hooks };
