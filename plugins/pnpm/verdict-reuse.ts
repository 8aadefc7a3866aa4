/**
 * Verdict reuse for preResolution's lockfile batch (src/verdict-store.ts holds the store and
 * its trust model). A warm frozen install hands preResolution the same lockfile as last time:
 * when nothing it depends on changed, the last passing batch result is reused instead of
 * reading the lockfile's packages, opening the feed and evaluating each package.
 *
 * Why reusing is as safe as recomputing: the batch result is a function of exactly what the
 * key hashes, and nothing else —
 * - the wanted lockfile, as the object pnpm handed over (not the file on disk), and what
 *   selects the part of it the install uses (usedPart): the importers a `--filter` selects and
 *   the dependency names the projects still declare;
 * - the lockfile directory (file:/link: paths are resolved against it) and pnpm's registries
 *   (they decide which tarball URLs are the registry);
 * - the resolved config, the feed's signed preamble (serial, dates, index hash pinning every
 *   record), the guard version and the UTC day (verdict-store.ts);
 * and only a result with nothing blocked is stored, under an HMAC whose secret lives in the
 * user's state directory: a store written by anyone else (a pull request, another machine) is
 * ignored and the batch is checked again. What readPackage sees later (packages resolved
 * anew) is never answered from the store.
 */
import { join } from 'node:path';
import type { GuardInputs } from '../../src/guard';
import type { Registries } from '../../src/lockfile/source';
import type { Report, ResolvedPackage } from '../../src/types';
import { reprintedPart, reuseStoredVerdict, stateVerdictFile, storeVerdict, type VerdictInputs } from '../../src/verdict-store';
import type { LockfileScope } from './lockfile-gate';

export interface LockfileBatch {
  /** The lockfile directory pnpm reported. */
  dir: string;
  /** The wanted lockfile as pnpm handed it over (what the install uses is usedPart of it and `scope`). */
  lockfile: unknown;
  scope: LockfileScope;
  registries: Registries;
}

/**
 * The verdict file of the pnpm hook for the lockfile directory `dir`: in the state directory, not
 * beside the install as `check`'s is. An install that finds no node_modules (a fresh clone,
 * `rm -rf node_modules`) checks its lockfile before pnpm creates node_modules, and pnpm 12 ends
 * its hook process without an exit event, so a verdict kept in node_modules was never stored
 * there; it is authenticated as any other (verdict-store.ts).
 */
export function pnpmVerdictFile(dir: string, stateDir: string): string {
  return stateVerdictFile(stateDir, 'pnpm', dir);
}

/** The store's inputs for this batch; undefined when it must always be checked (live evidence changes on its own). */
export function batchVerdictInputs(inputs: GuardInputs, batch: LockfileBatch): VerdictInputs | undefined {
  if (inputs.config.online) return undefined;
  const { dir, lockfile, scope, registries } = batch;
  return {
    file: pnpmVerdictFile(dir, inputs.stateDir),
    scope: 'pnpm',
    lockfilePath: join(dir, 'pnpm-lock.yaml'),
    lockfile: JSON.stringify(lockfile),
    config: inputs.config,
    feedPath: inputs.feedPath,
    stateDir: inputs.stateDir,
    now: inputs.now,
    extra: JSON.stringify({ dir, registries, declared: [...scope.declared].sort(), importers: scope.importers ? [...scope.importers].sort() : null }),
  };
}

/** name, version, whether it is a registry package: what WorkspaceView.noteLocked needs. */
type LockedEntry = [string, string, boolean];

function isLockedEntries(value: unknown): value is LockedEntry[] {
  return Array.isArray(value) && value.every((e) => Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && typeof e[1] === 'string' && typeof e[2] === 'boolean');
}

/** The stored passing result of this batch and the locked packages it covered (made when first asked for), or undefined. */
export function reuseBatch(verdict: VerdictInputs): { report: Report; count: number; locked: () => ResolvedPackage[] } | undefined {
  const reused = reuseStoredVerdict(verdict);
  if (!reused || !isLockedEntries(reused.attachment)) return undefined;
  const entries = reused.attachment;
  return { report: reused.report, count: entries.length, locked: () => entries.map(([name, version, registry]): ResolvedPackage => ({ name, version, source: registry ? 'registry' : 'file' })) };
}

/** Stores a batch result (a block removes the stored one). */
export function storeBatch(verdict: VerdictInputs, report: Report, packages: readonly ResolvedPackage[]): void {
  const locked: LockedEntry[] = packages.map((pkg) => [pkg.name, pkg.version, pkg.source === 'registry']);
  storeVerdict(verdict, reprintedPart(report), locked);
}
