/** The Bun security scanner bundle (`provenance-guard/bun`): `export const scanner`. */
import { createGuard, failureMode, resolveGuardInputs, type GuardInputs } from '../../src/guard';
import { bunRegistryConfig } from '../../src/lockfile/registries';
import { lockedIntegrities, registryIntegrity, toResolvedPackage, type BunPackage } from './packages';
import { createBunScanner } from './scanner';
import { reusedScan, storeScan } from './verdict-reuse';
import type { ResolvedPackage } from '../../src/types';

const CONCURRENCY = 8;

async function resolvePackages(packages: readonly BunPackage[], cwd: string, env: NodeJS.ProcessEnv): Promise<ResolvedPackage[]> {
  const { registries, authorization } = bunRegistryConfig(cwd, env);
  const locked = lockedIntegrities(cwd, registries);
  const integrity = {
    locked(name: string, version: string, tarball: string) {
      // bun.lock writes '' for the default registry's URL; a URL it pins must be this tarball.
      return locked.get(`${name}@${version}`)?.find((e) => e.tarball === '' || e.tarball === tarball)?.integrity;
    },
    fromRegistry: (name: string, version: string, registry: string) => registryIntegrity(name, version, registry, authorization(registry)),
  };
  const out: ResolvedPackage[] = new Array(packages.length);
  let next = 0;
  const worker = async () => {
    while (next < packages.length) {
      const i = next++;
      out[i] = await toResolvedPackage(packages[i]!, cwd, registries, integrity);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, packages.length) }, worker));
  return out;
}

// The inputs the guard of this scan was built from: what a stored verdict is keyed by.
let scanInputs: GuardInputs | undefined;

export const scanner = createBunScanner({
  createGuard: async (options) => createGuard(options, (scanInputs = await resolveGuardInputs(options))),
  failureMode: (o) => failureMode(o),
  resolve: resolvePackages,
  reuse: {
    reused: reusedScan,
    store: (packages, resolved, report, cwd, env) => {
      if (scanInputs) storeScan(scanInputs, packages, resolved, report, cwd, env);
    },
  },
});

