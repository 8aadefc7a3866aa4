/**
 * pnpm hooks for provenance-guard (pnpm 10.10+ and 12; loaded from a project .pnpmfile.cjs
 * or as the config dependency `pnpm-plugin-provenance-guard`).
 *
 * The gate, chosen from what pnpm 10.34 and 12.21 were measured to do (shared/TESTING.md and
 * test/pnpm*.test.ts):
 * - `preResolution` runs on every install path (fresh, `add`, `remove`, `--frozen-lockfile`,
 *   `--offline`, up-to-date) before anything is fetched, with the wanted lockfile. The
 *   lockfile packages the projects still depend on are checked there in one batch; throwing
 *   blocks the install with nothing linked and no script run. (Packages only reachable from
 *   a dependency being removed are skipped, else a blocked package could never be removed;
 *   pnpm 10 shows readPackage the manifest from before `pnpm remove`, so its arguments are
 *   read too.)
 * - `readPackage` sees every package pnpm resolves afresh, before it is fetched into
 *   node_modules or its scripts run; throwing there blocks fresh installs and `pnpm add`
 *   without writing a lockfile. `afterAllResolved` is no gate: pnpm 12 calls it after linking
 *   and postinstall. It only flushes warnings here.
 * - What readPackage receives: registry packages (also `npm:` aliases, under the real name)
 *   and tarball-URL dependencies come with `dist` (integrity, tarball); a tarball-URL one has
 *   `dist.tarball` equal to the URL its parent declared. git, `file:` directories and local
 *   tarballs, and on pnpm 12 `link:` targets and workspace projects (again), come without
 *   `dist` and without any resolution; their source is read from the specifiers parents
 *   declared. Both versions read the projects' own manifests before calling preResolution:
 *   those are never checked (they are the workspace; pnpm 12 reads them again, identical).
 *   pnpm 10 reads a package again without `dist` after resolving it with `dist` (`add`);
 *   pnpm 12 re-reads locked `file:` packages: both were checked already and are skipped.
 * - pnpm 12 runs hooks in a child `node -e` process (stdout is its protocol channel) with a
 *   30 s limit per call, wraps thrown errors as ERR_PNPM_PNPMFILE_FAIL and prints the error's
 *   `stack` twice: there the details go to stderr once and the error stays short. pnpm 10
 *   prints an error with `code: 'ERR_PNPM_…'` and a `hint` without a stack. All output goes
 *   to process.stderr, which both show (context.log disappears at --loglevel=warn, and
 *   console.log in pnpm 12).
 * - Config dependencies: pnpm 10 loads node_modules/.pnpm-config/<name>/pnpmfile.cjs, pnpm 12
 *   the copy in its store; both before resolution, also on a fresh clone.
 * No network in hooks unless the config sets `online` (the guard decides), except refreshing an
 * https or not-installed npm-package feed.source (bounded to 20 s, FEED_DOWNLOAD_TIMEOUT_MS); the guard is
 * created lazily, once per process, and each package is evaluated once (LRU by
 * name@version+integrity).
 */
import { relative, resolve, isAbsolute } from 'node:path';
import { LRUCache } from 'lru-cache';
import type { Guard, GuardOptions } from '../../src/guard';
import { errorText } from '../../src/errors';
import { configLine } from '../../src/report/config-line';
import { packagesFromPnpmLockfile } from '../../src/lockfile/pnpm';
import type { Mode, PackageResult, ResolvedPackage } from '../../src/types';
import { classify, DeclaredSpecs, specKind, type PnpmManifest } from './classify';
import { blockedError, failClosedError, shortBlockedError, summary } from './messages';
import { reachablePackageKeys } from './reachable';

export interface PnpmLockfileLike {
  packages?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface PreResolutionContext {
  wantedLockfile?: PnpmLockfileLike;
  existsNonEmptyWantedLockfile?: boolean;
  lockfileDir?: string;
  registries?: Record<string, string>;
}

export interface HookDependencies {
  createGuard: (options: GuardOptions) => Promise<Guard>;
  /** Reads the mode when createGuard fails, to decide between failing closed and warning. */
  modeAfterFailure: (cwd: string, env: NodeJS.ProcessEnv) => Promise<Mode | undefined>;
  env?: NodeJS.ProcessEnv;
  write?: (text: string) => void;
  cwd?: () => string;
  /** Print block details on stderr and throw a short error (default: when running in pnpm 12's hook process). */
  detailsOnStderr?: boolean;
  /** The package manager's arguments (pnpm 10 runs hooks in its own process; pnpm 12 in a child without them). */
  argv?: readonly string[];
}

const REMOVE_COMMANDS = new Set(['remove', 'rm', 'uninstall', 'un', 'uni']);
const ADD_COMMANDS = new Set(['add']);

function commandArgs(argv: readonly string[], commands: ReadonlySet<string>): string[] {
  const at = argv.findIndex((arg) => commands.has(arg));
  return at === -1 ? [] : argv.slice(at + 1).filter((arg) => !arg.startsWith('-'));
}

/** Specs given to `pnpm add` (pnpm 10 hands readPackage the manifest from before the addition). */
export function addedByCommand(argv: readonly string[]): string[] {
  return commandArgs(argv, ADD_COMMANDS);
}

/** Names given to `pnpm remove` (pnpm 10 hands readPackage the manifest from before the removal). */
export function removedByCommand(argv: readonly string[]): string[] {
  return commandArgs(argv, REMOVE_COMMANDS)
    .map((arg) => {
      const version = arg.indexOf('@', 1);
      return version === -1 ? arg : arg.slice(0, version);
    });
}

export interface PnpmHooks {
  readPackage(manifest: PnpmManifest, context?: unknown): Promise<PnpmManifest>;
  preResolution(context: PreResolutionContext): Promise<void>;
  afterAllResolved<T>(lockfile: T): T;
}

const key = (name: string, version: string) => `${name}@${version}`;

/** JSON with sorted keys, to compare manifests whatever order pnpm serialized them in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function isInsideDir(dir: string, target: string): boolean {
  const rel = relative(dir, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export function createPnpmHooks(deps: HookDependencies): PnpmHooks {
  const env = deps.env ?? process.env;
  const write = deps.write ?? ((text: string) => void process.stderr.write(text));
  let cwd: string | undefined;
  let guardPromise: Promise<Guard | undefined> | undefined;
  let resolutionStarted = false;
  /** The workspace's own projects (read before preResolution): name@version → their manifest, canonical JSON. */
  const projects = new Map<string, string>();
  /** Dependency names the projects declare now. */
  const projectDeps = new Set<string>();
  /** name@version seen with `dist` in this process (checked as the registry package it is). */
  const seenWithDist = new Set<string>();
  /** name@version of lockfile entries (checked in preResolution), and whether they are registry ones. */
  const locked = new Map<string, boolean>();
  const declared = new DeclaredSpecs();
  const results = new LRUCache<string, Promise<PackageResult | undefined>>({ max: 50_000 });
  const blocked = new Map<string, PackageResult>();
  const pendingWarnings = new Map<string, PackageResult>();
  const warned = new Set<string>();
  // `pnpm add <git/url/file spec>` on pnpm 10: the spec is not in the manifests readPackage saw.
  let addingNonRegistry = false;
  for (const spec of addedByCommand(deps.argv ?? process.argv.slice(2))) {
    const bare = spec.replace(/^(@[^/@]+\/)?[^@/:]+@(?=\S*[:/])/, '');
    const kind = specKind(bare);
    if (kind === undefined || kind === 'workspace') continue;
    addingNonRegistry = true;
    declared.noteUnnamed(bare);
  }
  // pnpm 12 runs hooks in `node -e <protocol>` with stdout as the protocol channel.
  const detailsOnStderr = deps.detailsOnStderr ?? (process.argv.length === 1 && process.execArgv.includes('-e'));

  let detailsPrinted = 0;
  function blockedFailure(): Error {
    const list = [...blocked.values()];
    if (!detailsOnStderr) return blockedError(list);
    // Concurrent readPackage calls may all fail: print the details once per new finding.
    if (list.length > detailsPrinted) {
      detailsPrinted = list.length;
      write(summary(list, 'block') + '\n');
    }
    return shortBlockedError(list);
  }

  function flushWarnings(): void {
    if (pendingWarnings.size === 0) return;
    const text = summary([...pendingWarnings.values()], 'warn');
    pendingWarnings.clear();
    if (text) write(text + '\n');
  }
  process.once('exit', flushWarnings);

  function guard(): Promise<Guard | undefined> {
    guardPromise ??= (async () => {
      const dir = cwd ?? deps.cwd?.() ?? process.cwd();
      try {
        const created = await deps.createGuard({ cwd: dir, env });
        write(`${configLine(created.config)}\n`);
        return created.config.mode === 'off' ? undefined : created;
      } catch (error) {
        const mode = await deps.modeAfterFailure(dir, env).catch(() => undefined);
        if (mode === 'off') return undefined;
        if (mode === 'warn') {
          write(`provenance-guard: ${errorText(error)}\nprovenance-guard: warn mode: continuing without checking packages\n`);
          return undefined;
        }
        throw failClosedError(error);
      }
    })();
    return guardPromise;
  }

  function remember(result: PackageResult): void {
    const id = key(result.name, result.version);
    if (result.verdict === 'block') blocked.set(id, result);
    else if (result.verdict === 'warn' && !warned.has(id)) {
      warned.add(id);
      pendingWarnings.set(id, result);
    }
  }

  async function evaluate(pkg: ResolvedPackage): Promise<PackageResult | undefined> {
    const cacheKey = `${pkg.name}@${pkg.version}\u0000${pkg.integrity ?? ''}\u0000${pkg.source}\u0000${pkg.resolved ?? ''}`;
    let pending = results.get(cacheKey);
    if (!pending) {
      pending = (async () => {
        const g = await guard();
        if (!g) return undefined;
        // evaluate(), not check(): no report to build and sort for one package.
        return (await g.evaluate([pkg]))[0];
      })();
      results.set(cacheKey, pending);
    }
    return pending;
  }

  return {
    async preResolution(context) {
      resolutionStarted = true;
      if (context.lockfileDir) cwd = context.lockfileDir;
      const lockfile = context.wantedLockfile;
      const entries = lockfile?.packages;
      if (!lockfile || !entries || Object.keys(entries).length === 0) {
        await guard(); // config/feed errors fail here, before anything is resolved
        return;
      }
      const g = await guard();
      if (!g) return;
      // Only what the projects still depend on: a package being removed must stay removable.
      for (const name of removedByCommand(deps.argv ?? process.argv.slice(2))) projectDeps.delete(name);
      const reachable = reachablePackageKeys(lockfile, projectDeps);
      const kept = reachable ? Object.entries(entries).filter(([k]) => reachable.has(k)) : [];
      // Fail safe: when nothing matched (a lockfile shape the walk does not know), check it all.
      const used = kept.length > 0 ? { ...lockfile, packages: Object.fromEntries(kept) } : lockfile;
      let packages: ResolvedPackage[];
      try {
        packages = packagesFromPnpmLockfile(used, cwd ?? process.cwd());
      } catch (error) {
        if (g.config.mode === 'warn') {
          write(`provenance-guard: ${errorText(error, 'cannot read the lockfile')}\n`);
          return;
        }
        throw failClosedError(error, 'cannot read the lockfile');
      }
      for (const pkg of packages) locked.set(key(pkg.name, pkg.version), locked.get(key(pkg.name, pkg.version)) === true || pkg.source === 'registry');
      for (const result of await g.evaluate(packages)) remember(result);
      flushWarnings();
      if (blocked.size > 0) throw blockedFailure();
    },

    async readPackage(manifest) {
      if (!resolutionStarted) {
        // The projects' own manifests (root, workspace packages) come before preResolution.
        if (!manifest.dist && typeof manifest.name === 'string' && typeof manifest.version === 'string') projects.set(key(manifest.name, manifest.version), canonical(manifest));
        for (const field of ['dependencies', 'devDependencies', 'optionalDependencies'] as const) {
          const deps = manifest[field];
          if (deps && typeof deps === 'object') for (const name of Object.keys(deps)) projectDeps.add(name);
        }
        declared.note(manifest);
        return manifest;
      }
      declared.note(manifest);
      const pkg = classify(manifest, declared);
      if (!pkg) return manifest;
      const id = key(pkg.name, pkg.version);
      // A project read again (pnpm 12) is skipped; a git or file package posing as one (same
      // name@version, another manifest or declared from a non-registry source) is not.
      if (!manifest.dist && projects.get(id) === canonical(manifest) && !declared.isNonRegistry(pkg.name)) return manifest;
      // Read again without `dist`: pnpm 10 does so for resolved and locked registry packages
      // (`add`, `remove`), pnpm 12 for locked `file:` ones; all were checked already. Unless a
      // git/file/tarball source could be posing as that name@version: declared under the name,
      // or being added by this very command (pnpm 10 shows the manifest from before `add`).
      if (!manifest.dist && locked.has(id) && locked.get(id) === false) return manifest;
      if (!manifest.dist && (seenWithDist.has(id) || locked.get(id) === true) && !declared.isNonRegistry(pkg.name) && !addingNonRegistry) return manifest;
      // pnpm 12 shows `link:` targets; one inside the project is part of the workspace (as the lockfile reader counts it).
      if (pkg.source === 'link' && pkg.resolved && isInsideDir(cwd ?? process.cwd(), resolve(cwd ?? process.cwd(), pkg.resolved.slice('link:'.length)))) return manifest;
      if (manifest.dist) seenWithDist.add(id);
      const result = await evaluate(pkg);
      if (!result) return manifest;
      remember(result);
      if (result.verdict === 'block') {
        // Let evaluations already in flight finish so one error lists every blocked package.
        await new Promise((resolve) => setImmediate(resolve));
        throw blockedFailure();
      }
      return manifest;
    },

    afterAllResolved(lockfile) {
      flushWarnings();
      return lockfile;
    },
  };
}
