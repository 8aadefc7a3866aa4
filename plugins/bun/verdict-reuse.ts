/**
 * Verdict reuse for the Bun scanner (src/verdict-store.ts holds the store and its trust model).
 * Bun calls `scan` on every install, an up-to-date `--frozen-lockfile` one included: when the
 * packages Bun hands over, bun.lock, the registries, the config and the feed are unchanged, the
 * last passing scan is reused instead of opening the feed and evaluating each package.
 *
 * Why reusing is as safe as recomputing: the scan's result is a function of what the key hashes —
 * the packages exactly as Bun passes them (name, version, requested range, tarball URL), bun.lock's
 * bytes by their SHA-256 (the integrity each registry package is checked with comes from there),
 * the registries bunfig.toml and .npmrc configure, the project directory, the resolved config, the
 * feed's signed header, the guard version and the UTC day. A scan in which any registry package's
 * integrity had to be read from the registry's metadata (not pinned in bun.lock) is never stored: that
 * answer depended on the registry at that moment. Only a result with nothing blocked is stored,
 * under the HMAC of this user's secret, in the state directory as the pnpm hook's and the Yarn
 * plugin's (src/verdict-store.ts stateVerdictFile): an install after `rm -rf node_modules` reuses it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileDigest } from '../../src/file-hash';
import { resolveLocalGuardInputs, type GuardInputs } from '../../src/guard';
import { bunRegistryConfig } from '../../src/lockfile/registries';
import type { Report, ResolvedPackage } from '../../src/types';
import { stateDir } from '../../src/paths';
import { reprintedPart, rememberedConfig, reuseVerdict, stateVerdictFile, storeVerdict, type VerdictInputs } from '../../src/verdict-store';
import { lockedIntegrities, type BunPackage } from './packages';

/** bun.lock's length and SHA-256 (read in pieces), undefined when there is none. */
function lockDigest(dir: string): string | undefined {
  try {
    return fileDigest(join(dir, 'bun.lock'));
  } catch {
    return undefined;
  }
}

/** The store's inputs for this scan; undefined when it must always be evaluated (no bun.lock, live evidence). */
export function scanVerdictInputs(inputs: GuardInputs, packages: readonly BunPackage[], dir: string, env: NodeJS.ProcessEnv): VerdictInputs | undefined {
  const lock = lockDigest(dir);
  if (lock === undefined || inputs.config.online) return undefined;
  return {
    file: stateVerdictFile(inputs.stateDir, 'bun', dir),
    scope: 'bun',
    lockfilePath: join(dir, 'bun.lock'),
    lockfile: [Buffer.from(lock), Buffer.from(JSON.stringify(packages.map((p) => [p.name, p.version, p.requestedRange, p.tarball])))],
    config: inputs.config,
    feedPath: inputs.feedPath,
    stateDir: inputs.stateDir,
    now: inputs.now,
    extra: JSON.stringify({ dir, registries: bunRegistryConfig(dir, env).registries }),
  };
}

/**
 * The stored passing scan for exactly these packages, with the config it was made under; undefined
 * when there is none, or when setting up would need the network or reports anything (the full
 * scan then does it, and reports it).
 */
export async function reusedScan(packages: readonly BunPackage[], dir: string, env: NodeJS.ProcessEnv): Promise<{ report: Report; inputs: GuardInputs } | undefined> {
  const file = stateVerdictFile(stateDir(env), 'bun', dir);
  // Nothing stored (a CI job's first install): the config and the feed are read once, by the scan.
  if (!existsSync(file)) return undefined;
  let warned = false;
  const inputs = await resolveLocalGuardInputs({ cwd: dir, env, warn: () => (warned = true), ...rememberedConfig(file, env) }).catch(() => undefined);
  if (!inputs || warned || inputs.config.mode === 'off') return undefined;
  const verdict = scanVerdictInputs(inputs, packages, dir, env);
  const report = verdict && reuseVerdict(verdict);
  return report ? { report, inputs } : undefined;
}

/** Stores a scan's result when every registry package's integrity came from bun.lock (a block removes the stored one). */
export function storeScan(inputs: GuardInputs, packages: readonly BunPackage[], resolved: readonly ResolvedPackage[], report: Report, dir: string, env: NodeJS.ProcessEnv): void {
  const verdict = scanVerdictInputs(inputs, packages, dir, env);
  if (!verdict) return;
  const locked = lockedIntegrities(dir, bunRegistryConfig(dir, env).registries);
  const pinned = resolved.every((pkg) => pkg.source !== 'registry' || (pkg.integrity !== undefined && (locked.get(`${pkg.name}@${pkg.version}`) ?? []).some((e) => e.integrity === pkg.integrity)));
  if (pinned || report.summary.block > 0) storeVerdict(verdict, reprintedPart(report));
}
