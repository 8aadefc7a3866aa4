/**
 * The pnpmfile bundle (plugins/pnpm/dist/pnpmfile.cjs, and `pnpmfile.cjs` of the config
 * dependency pnpm-plugin-provenance-guard): `module.exports = { hooks }`.
 * Everything else loads on the first hook call: pnpm 12 also loads the pnpmfile in a process
 * that only asks which hooks exist.
 */
import type { PnpmHooks } from './hooks';
import { inHookChild, pnpmArgv, unhookedCommandOf } from './invocation';

let loaded: PnpmHooks | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const impl = (): PnpmHooks => (loaded ??= (require('./runtime') as typeof import('./runtime')).hooks);

// PROVENANCE_GUARD_TIMING=1: a stderr line with the time spent in the hooks so far
// (used by the bench; pnpm 12's hook process also reports its uptime, node startup included,
// and the time the projects' manifests took in the background, below).
let inHooks = 0;
let cpuInHooks = 0;
let inBackground = 0;
let calls = 0;
let reported = 0;
const timing = process.env.PROVENANCE_GUARD_TIMING === '1';
const report = (): void => {
  if (calls === reported) return;
  reported = calls;
  // CPU time (this process, all threads) beside wall time: on a loaded machine wall time mostly measures the wait for a core.
  process.stderr.write(`provenance-guard timing: hooks ${inHooks.toFixed(1)} ms in ${calls} calls, process uptime ${performance.now().toFixed(1)} ms, cpu in hooks ${cpuInHooks.toFixed(1)} ms, in the background ${inBackground.toFixed(1)} ms\n`);
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

/**
 * pnpm 12's hook process: before preResolution, readPackage is only handed the projects' own
 * manifests, which the hooks note and return unchanged (hooks.ts readPackage). There it answers
 * at once and notes them in the background, after its answer is sent: the implementation's first
 * load (the hooks from their code cache: ~20 ms) then runs while pnpm reads its
 * lockfile, which it does before it calls preResolution whenever readPackage answers (measured on
 * 12.21: preResolution arrives ~120 ms into the hook process either way). Every other hook call
 * first waits for those manifests to be noted, in order, and fails with their error if noting
 * failed. pnpm 10 runs hooks in its own process, where nothing would overlap: no deferral there.
 */
const defers = inHookChild();
let resolving = false;
let noted: Promise<void> = Promise.resolve();

function noteLater(manifest: Parameters<PnpmHooks['readPackage']>[0], context: unknown): void {
  noted = noted
    .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
    .then(async () => {
      const started = performance.now();
      try {
        await impl().readPackage(manifest, context);
      } finally {
        inBackground += performance.now() - started;
      }
    });
  // Awaited by the next hook call; a process that gets none has nothing the notes were for.
  noted.catch(() => undefined);
}

const afterNoted = <T>(run: () => Promise<T>): Promise<T> => noted.then(run);

const readPackage: PnpmHooks['readPackage'] = (manifest, context) => {
  if (defers && !resolving) {
    noteLater(manifest, context);
    return Promise.resolve(manifest);
  }
  return afterNoted(() => impl().readPackage(manifest, context));
};

const preResolution: PnpmHooks['preResolution'] = (context) => {
  resolving = true;
  return afterNoted(() => impl().preResolution(context));
};

const hooks: PnpmHooks = {
  // Every pnpm command calls updateConfig: only those no other hook gates load the guard.
  updateConfig: (config) => (unhookedCommandOf(pnpmArgv()) !== undefined ? afterNoted(() => impl().updateConfig(config)) : Promise.resolve(config)),
  readPackage: (manifest, context) => (timing ? timed(() => readPackage(manifest, context), false) : readPackage(manifest, context)),
  preResolution: (context) => (timing ? timed(() => preResolution(context), true) : preResolution(context)),
  afterAllResolved: (lockfile) => afterNoted(() => impl().afterAllResolved(lockfile)),
};

export = { hooks };
