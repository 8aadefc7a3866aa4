/**
 * Checks the packages of a pnpm lockfile an install will use, in one batch: from preResolution
 * (the wanted lockfile pnpm hands over) and from updateConfig (the lockfile on disk, for the
 * commands no other hook reaches).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Guard } from '../../src/guard';
import { parsePnpmYaml } from '../../src/lockfile/index';
import { packagesFromPnpmLockfile, stripPeers } from '../../src/lockfile/pnpm';
import type { ResolvedPackage } from '../../src/types';
import type { PnpmLockfileLike } from './hooks';
import { errorText, LockfileError } from '../../src/errors';
import { isObject } from '../../src/json';
import type { Registries } from '../../src/lockfile/source';
import { failClosedError } from './messages';
import { reachablePackageKeys } from './reachable';

export interface LockfileScope {
  /** Dependency names the projects still declare (a package being removed stays removable). */
  declared: ReadonlySet<string>;
  /** Importer ids of a filtered install; undefined: every importer. */
  importers?: ReadonlySet<string>;
}

/** The lockfile restricted to the packages reachable in scope (all of it when the walk matches nothing: fail safe). */
export function usedPart(lockfile: PnpmLockfileLike, scope: LockfileScope | undefined): PnpmLockfileLike {
  const entries = lockfile.packages ?? {};
  if (!scope) return lockfile;
  const reachable = reachablePackageKeys(lockfile, scope.declared, scope.importers);
  // The walk reaches `name@version(peers…)` keys; a lockfile written as on disk keys its packages
  // without the peers (they are in `snapshots`): either form keeps the package.
  const keys = reachable && new Set([...reachable].flatMap((k) => [k, stripPeers(k)]));
  const kept = keys ? Object.entries(entries).filter(([k]) => keys.has(k)) : [];
  if (kept.length > 0) return { ...lockfile, packages: Object.fromEntries(kept) };
  // A filtered install whose projects depend on nothing: nothing to check.
  if (scope.importers && reachable?.size === 0) return { ...lockfile, packages: {} };
  return lockfile;
}

/** The lockfile's packages; an unreadable one fails closed (block) or is reported (warn). */
export function lockedPackages(
  guard: Guard,
  lockfile: PnpmLockfileLike,
  dir: string,
  write: (text: string) => void,
  options: { file?: string; registries?: Registries } = {},
): ResolvedPackage[] | undefined {
  try {
    return packagesFromPnpmLockfile(lockfile, dir, options.file, options.registries ? { registries: options.registries } : {});
  } catch (error) {
    if (guard.config.mode === 'warn') {
      write(`provenance-guard: ${errorText(error, 'cannot read the lockfile')}\n`);
      return undefined;
    }
    throw failClosedError(error, 'cannot read the lockfile');
  }
}

/**
 * The lockfile a command works from: `fetch` installs pnpm-lock.yaml; `rebuild` runs the scripts
 * of what is installed and `patch` extracts an installed package (pnpm refuses it without
 * node_modules), both described by node_modules/.pnpm/lock.yaml (else pnpm-lock.yaml).
 */
export function readDiskLockfile(lockfileDir: string, command: string): { lockfile: PnpmLockfileLike; file: string } | undefined {
  const wanted = join(lockfileDir, 'pnpm-lock.yaml');
  const files = command === 'fetch' ? [wanted] : [join(lockfileDir, 'node_modules/.pnpm/lock.yaml'), wanted];
  for (const file of files) {
    if (!existsSync(file)) continue;
    // pnpm 11+ with config dependencies writes an env document first; the project graph is the last one.
    // Read as `check` reads pnpm-lock.yaml (src/lockfile/index.ts): one parser for the file everywhere.
    let documents: unknown[];
    try {
      documents = parsePnpmYaml(readFileSync(file, 'utf8'), file);
    } catch (error) {
      throw failClosedError(error instanceof LockfileError ? error : new LockfileError(`${file}: cannot be read: ${error instanceof Error ? error.message : String(error)}`, { file, code: 'ERR_PG_LOCKFILE_PARSE' }));
    }
    if (documents.length === 0) throw failClosedError(new LockfileError(`${file}: cannot be read: empty file`, { file, code: 'ERR_PG_LOCKFILE_PARSE' }));
    const last = documents[documents.length - 1];
    // A scalar or a list is no lockfile: refused, never passed over for another file or for nothing to check.
    if (!isObject(last)) throw failClosedError(new LockfileError(`${file}: cannot be read: expected a YAML mapping at the top level`, { file, code: 'ERR_PG_LOCKFILE_PARSE' }));
    return { lockfile: last as PnpmLockfileLike, file };
  }
  return undefined;
}

