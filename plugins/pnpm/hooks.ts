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
 *   without writing a lockfile. `afterAllResolved` is no gate on pnpm 12, which calls it after
 *   linking and postinstall; pnpm 10 calls it before linking and shows readPackage no `link:`
 *   target, so the links outside the project are checked there (by their keys, as check does).
 * - What readPackage receives: registry packages (also `npm:` aliases, under the real name)
 *   come with `dist` (integrity, tarball), and so does a tarball URL the registry serves, with
 *   `dist.tarball` equal to the URL its parent declared (the registry's own URL for its
 *   name@version is that registry package, as check reads it locked: pnpmTarballSource). A
 *   pnpm 12 `link:` target is recognised by its folder's package.json and checked under the
 *   key(s) linking there. git, tarball URLs on other hosts,
 *   `file:` directories and local tarballs, and on pnpm 12 `link:` targets and workspace
 *   projects (again), come without `dist` and without any resolution, under the `name` in their
 *   own package.json (free text: `evil: https://host/x.tgz` may call itself anything, and pnpm
 *   links it at node_modules/evil). Their source is read from the specifiers parents declared,
 *   and they are checked under every dependency key they may be installed under
 *   (DeclaredSpecs.installNames). Both versions read the projects' own manifests before calling preResolution:
 *   those are never checked (they are the workspace; pnpm 12 reads them again, identical).
 *   pnpm 10 reads a package again without `dist` after resolving it with `dist` (`add`);
 *   pnpm 12 re-reads locked `file:` packages: both were checked already and are skipped.
 * - pnpm 12 runs hooks in a child `node -e` process (stdout is its protocol channel) with a
 *   30 s limit per call, wraps thrown errors as ERR_PNPM_PNPMFILE_FAIL and prints the error's
 *   `stack` twice: there the details go to stderr once and the error stays short. pnpm 10
 *   prints an error with `code: 'ERR_PNPM_…'` and a `hint` without a stack. All output goes
 *   to standard error (written to the descriptor, stderrWriter), which both show (context.log
 *   disappears at --loglevel=warn, and console.log in pnpm 12).
 * - Config dependencies: pnpm 10 loads node_modules/.pnpm-config/<name>/pnpmfile.cjs, pnpm 12
 *   the copy in its store; both before resolution, also on a fresh clone.
 * - `updateConfig` runs for every command, on 10 and 12 (12: in its own child process), and
 *   throwing there fails the command. It gates the commands no other hook reaches: pnpm 12
 *   `fetch` (links and runs postinstall without calling any other hook), pnpm 10 `rebuild`
 *   (re-runs the scripts of what is installed) and `patch` on both (copies an installed package,
 *   from the store or the registry, into an edit directory). The lockfile on disk is checked there.
 * - A filtered install (`--filter`) links only the selected projects' dependencies, though
 *   pnpm resolves (and shows readPackage) the whole workspace: only what the selected projects
 *   reach is refused (selection.ts).
 * - `pnpm deploy DIR` installs with DIR as the lockfile directory: no config is found there,
 *   so the invoking directory's config governs (guard-loader.ts).
 * No network in hooks unless the config sets `online` (the guard decides), except refreshing an
 * https or not-installed npm-package feed.source (bounded to 20 s, FEED_DOWNLOAD_TIMEOUT_MS); the guard is
 * created lazily, once per process, and each package is evaluated once (LRU by
 * name@version+integrity).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import type { Guard, GuardInputs, GuardOptions } from '../../src/guard';
import { codeCacheReady } from '../../src/code-cache-ready';
import { FdOutput } from '../../src/cli/output';
import { buildReport } from '../../src/report/build';
import type { Mode, PackageResult, ResolvedPackage } from '../../src/types';
import type { Registries } from '../../src/lockfile/source';
import { classify, registriesFromPnpm, type PnpmManifest } from './classify';
import { createGuardStages, type GuardStages } from './guard-loader';
import { filtersOf, inHookChild, pnpmArgv, unhookedCommandOf } from './invocation';
import { lockedPackages, readDiskLockfile, usedPart, type LockfileScope } from './lockfile-gate';
import { packagesFromPnpmLockfile } from '../../src/lockfile/pnpm';
import { InstallScope, selectedProjectNames } from './selection';
import { VerdictLog } from './verdicts';
import { batchVerdictInputs, reuseBatch, storeBatch } from './verdict-reuse';
import { WorkspaceView } from './workspace-view';

/**
 * Standard error, written to the descriptor (src/cli/output.ts): in pnpm 12's hook process nothing
 * else reads process.stderr, which would build a stream for the pipe (~4 ms of every install).
 */
function stderrWriter(): (text: string) => void {
  const out = new FdOutput(2);
  return (text) => void out.write(text);
}

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

/** The part of pnpm's config updateConfig reads. */
export interface PnpmConfigLike {
  lockfileDir?: string;
  workspaceDir?: string;
  dir?: string;
  [field: string]: unknown;
}

export interface HookDependencies {
  createGuard: (options: GuardOptions, inputs?: GuardInputs) => Promise<Guard>;
  /** Resolves the config and feed file without opening the feed; given, preResolution reuses a stored passing verdict (verdict-reuse.ts). */
  resolveInputs?: (options: GuardOptions) => Promise<GuardInputs>;
  /** Reads the mode when createGuard fails, to decide between failing closed and warning. */
  modeAfterFailure: (cwd: string, env: NodeJS.ProcessEnv, fallbackCwds?: readonly string[]) => Promise<Mode | undefined>;
  env?: NodeJS.ProcessEnv;
  write?: (text: string) => void;
  cwd?: () => string;
  /** Print block details on stderr and throw a short error (default: when running in pnpm 12's hook process). */
  detailsOnStderr?: boolean;
  /** The package manager's arguments (pnpm 10 runs hooks in its own process; pnpm 12 in a child without them). */
  argv?: readonly string[];
  /** pnpm's whole command line, also in pnpm 12's hook child (default: invocation.ts). */
  invocation?: readonly string[];
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
  updateConfig<T extends PnpmConfigLike>(config: T): Promise<T>;
  readPackage(manifest: PnpmManifest, context?: unknown): Promise<PnpmManifest>;
  preResolution(context: PreResolutionContext): Promise<void>;
  afterAllResolved<T>(lockfile: T): Promise<T>;
}

/** Evaluates each package once per process (LRU by name@version+integrity+source). */
function createEvaluator(guard: () => Promise<Guard | undefined>) {
  // Created on first use: a warm install whose lockfile verdict is reused evaluates nothing.
  let results: LRUCache<string, Promise<PackageResult | undefined>> | undefined;
  return (pkg: ResolvedPackage): Promise<PackageResult | undefined> => {
    results ??= new LRUCache({ max: 50_000 });
    const cacheKey = `${pkg.name}@${pkg.version}\u0000${pkg.integrity ?? ''}\u0000${pkg.source}\u0000${pkg.resolved ?? ''}`;
    let pending = results.get(cacheKey);
    if (!pending) {
      pending = (async () => {
        const g = await guard();
        // evaluate(), not check(): no report to build and sort for one package.
        return g ? (await g.evaluate([pkg]))[0] : undefined;
      })();
      results.set(cacheKey, pending);
    }
    return pending;
  };
}

/**
 * A filtered install's scope: blocked packages read outside it are held back, and become
 * errors when a package in scope turns out to depend on them.
 */
class ScopedBlocks {
  /** Held results by their name and by each alias they may be installed under. */
  private readonly held = new Map<string, { result: PackageResult; aliases: readonly string[] }[]>();
  constructor(readonly scope: InstallScope) {}

  hold(result: PackageResult, aliases: readonly string[]): void {
    for (const key of new Set([result.name, ...aliases])) {
      const list = this.held.get(key) ?? [];
      list.push({ result, aliases });
      this.held.set(key, list);
    }
  }

  /** Held results that the names just reached make part of the install. */
  release(names: readonly string[]): PackageResult[] {
    const out = new Set<PackageResult>();
    for (const name of names) for (const { result, aliases } of this.held.get(name) ?? []) if (this.scope.includes(result.name, result.version, aliases)) out.add(result);
    return [...out];
  }
}

/** One pnpm process's hook state: what was seen, what was decided. Each hook is a method. */
class HookSession implements PnpmHooks {
  private readonly write: (text: string) => void;
  private readonly invocation: readonly string[];
  private readonly argv: readonly string[];
  private readonly view: WorkspaceView;
  private readonly verdicts: VerdictLog;
  private readonly stages: GuardStages;
  private readonly evaluate: (pkg: ResolvedPackage) => Promise<PackageResult | undefined>;
  private cwd: string | undefined;
  private registries: Registries | undefined;
  private resolutionStarted = false;
  private readonly timing: boolean;
  private scoped: ScopedBlocks | undefined;
  /** Keys a dist-less package was checked under among others (readPackage): settled in afterAllResolved. */
  private readonly tentativeKeys = new Set<string>();

  constructor(private readonly deps: HookDependencies) {
    const env = deps.env ?? process.env;
    this.write = deps.write ?? stderrWriter();
    this.invocation = deps.invocation ?? deps.argv ?? pnpmArgv();
    this.argv = deps.argv ?? process.argv.slice(2);
    this.view = new WorkspaceView(addedByCommand(this.argv));
    this.verdicts = new VerdictLog(this.write, deps.detailsOnStderr ?? inHookChild());
    process.once('exit', () => this.verdicts.flushWarnings(true));
    this.stages = createGuardStages({
      createGuard: deps.createGuard, ...(deps.resolveInputs ? { resolveInputs: deps.resolveInputs } : {}),
      modeAfterFailure: deps.modeAfterFailure, env, write: this.write, invokedFrom: deps.cwd?.() ?? process.cwd(),
    });
    this.timing = env.PROVENANCE_GUARD_TIMING === '1';
    this.evaluate = createEvaluator(() => this.guard());
  }

  /** The registries pnpm reported (preResolution), else the project's .npmrc. */
  private pnpmRegistries(): Registries {
    return this.registries ?? registriesFromPnpm(undefined, this.dir());
  }

  private dir(): string {
    return this.cwd ?? this.deps.cwd?.() ?? process.cwd();
  }

  private guard(): Promise<Guard | undefined> {
    return this.stages.guard(this.dir());
  }

  private selected(): Set<string> | undefined {
    return selectedProjectNames(filtersOf(this.invocation), this.view.projectManifests.keys());
  }

  /** What of the lockfile this install uses: the projects' current dependencies, and a filtered install's importers. */
  private lockfileScope(lockfile: PnpmLockfileLike): LockfileScope {
    // Only what the projects still depend on: a package being removed must stay removable.
    for (const name of removedByCommand(this.argv)) this.view.projectDeps.delete(name);
    const selected = this.selected();
    if (!selected) return { declared: this.view.projectDeps };
    const ids = lockfile.importers && typeof lockfile.importers === 'object' ? Object.keys(lockfile.importers) : [];
    return { declared: this.view.projectDeps, importers: new Set(ids.filter((id) => selected.has(importerName(this.dir(), id) ?? ''))) };
  }

  private async checkBatch(g: Guard, packages: readonly ResolvedPackage[]): Promise<void> {
    this.checkResults(await g.evaluate(packages));
  }

  private checkResults(results: readonly PackageResult[]): void {
    for (const result of results) this.verdicts.remember(result);
    this.verdicts.flushWarnings();
    if (this.verdicts.hasBlocks) throw this.verdicts.failure();
  }

  /**
   * Remembers readPackage's results (one per name the package installs under); outside a
   * filtered install's scope a block is held, not thrown.
   */
  private async blockOrHold(results: readonly PackageResult[], manifest: PnpmManifest, tentative: boolean): Promise<void> {
    const { scoped, verdicts } = this;
    // Every alias any manifest declared for this package: the selected project may use one another project does not.
    const aliases = typeof manifest.name === 'string' ? this.view.declared.aliasesOf(manifest.name, typeof manifest.dist?.tarball === 'string' ? manifest.dist.tarball : undefined) : [];
    let inScope = !scoped;
    for (const result of results) {
      if (scoped && !scoped.scope.includes(result.name, result.version, aliases)) {
        if (result.verdict === 'block') scoped.hold(result, aliases);
        else verdicts.remember(result);
        continue;
      }
      inScope = true;
      if (tentative) verdicts.rememberTentative(result);
      else verdicts.remember(result);
    }
    if (!inScope) return;
    if (scoped) for (const reached of scoped.release(scoped.scope.grow(manifest))) verdicts.remember(reached);
    if (verdicts.hasBlocks) {
      // Let evaluations already in flight finish so one error lists every blocked package.
      await new Promise((resolve) => setImmediate(resolve));
      throw verdicts.failure();
    }
  }

  async updateConfig<T extends PnpmConfigLike>(config: T): Promise<T> {
    const command = unhookedCommandOf(this.invocation);
    if (!command) return config;
    const lockfileDir = config.lockfileDir ?? config.workspaceDir ?? config.dir ?? this.dir();
    this.cwd = lockfileDir;
    const g = await this.guard();
    const found = g ? readDiskLockfile(lockfileDir, command) : undefined;
    if (!g || !found) return config;
    const packages = lockedPackages(g, found.lockfile, lockfileDir, this.write, { file: found.file, registries: this.pnpmRegistries() });
    if (packages) await this.checkBatch(g, packages);
    return config;
  }

  async preResolution(context: PreResolutionContext): Promise<void> {
    this.resolutionStarted = true;
    if (context.lockfileDir) this.cwd = context.lockfileDir;
    // pnpm's own registries (its .npmrc and pnpm-workspace.yaml settings) decide registry identity.
    if (context.registries?.default) this.registries = registriesFromPnpm(context.registries, this.dir());
    const selected = this.selected();
    if (selected) this.scoped = new ScopedBlocks(new InstallScope(selected, this.view.projectManifests));
    const lockfile = context.wantedLockfile;
    // Config errors fail here, before anything is resolved (feed errors too, unless a verdict is reused).
    const inputs = this.deps.resolveInputs ? await this.stages.inputs(this.dir()) : undefined;
    if (this.deps.resolveInputs && !inputs) return;
    // A lockfile of `link:` dependencies only has no packages, and still links code from outside the project.
    const hasPackages = (lockfile?.packages !== undefined && Object.keys(lockfile.packages).length > 0) || (lockfile !== undefined && hasLinks(lockfile));
    if (!lockfile || !hasPackages) {
      await this.guard();
      return;
    }
    const scope = this.lockfileScope(lockfile);
    const verdict = inputs && batchVerdictInputs(inputs, { dir: this.dir(), lockfile, scope, registries: this.pnpmRegistries() });
    const reused = verdict && reuseBatch(verdict);
    if (reused) {
      if (this.timing) this.write(`provenance-guard timing: lockfile verdict reused (${reused.count} packages)\n`);
      this.view.noteLocked(reused.locked);
      for (const result of reused.report.packages) this.verdicts.remember(result);
      this.verdicts.flushWarnings();
      // The pnpmfile's code cache holds what this path compiled (src/code-cache.ts).
      codeCacheReady();
      return;
    }
    const g = await this.guard();
    if (!g) return;
    const packages = lockedPackages(g, usedPart(lockfile, scope), this.dir(), this.write, { registries: this.pnpmRegistries() });
    if (!packages) return;
    this.view.noteLocked(packages);
    const results = await g.evaluate(packages);
    if (verdict) storeBatch(verdict, buildReport(results), packages);
    this.checkResults(results);
  }

  async readPackage(manifest: PnpmManifest): Promise<PnpmManifest> {
    if (!this.resolutionStarted) {
      // The projects' own manifests (root, workspace packages) come before preResolution: noted,
      // returned unchanged (pnpm 12's hook process answers them before noting: pnpmfile.ts).
      this.view.noteProject(manifest);
      return manifest;
    }
    this.view.declared.note(manifest);
    // A workspace project read again (without a version, as a private root often is) is not a dependency.
    if (typeof manifest.version !== 'string' && typeof manifest.name === 'string' && this.view.projectManifests.has(manifest.name)) return manifest;
    const pkg = classify(manifest, this.view.declared, this.pnpmRegistries());
    if (!pkg) return manifest;
    // A git, tarball or file: package is checked under each dependency key it may be installed
    // under, never only under the name its package.json claims (DeclaredSpecs.installNames).
    const names = this.view.installNames(manifest, pkg, this.dir());
    const ownCovered = this.view.alreadyCovered(manifest, pkg, this.dir());
    const hasDist = manifest.dist !== undefined && manifest.dist !== null;
    const packages = names.filter((name) => name !== pkg.name || !ownCovered).map((name) => this.view.declared.installedAs(pkg, name, hasDist));
    if (packages.length === 0) return manifest;
    const results = (await Promise.all(packages.map((p) => this.evaluate(p)))).filter((r): r is PackageResult => r !== undefined);
    // Several keys it may be installed under: all are checked (a block stops the install), but a
    // warning about a key waits for the resolution to say which package that key has (afterAllResolved).
    const tentative = packages.length > 1;
    if (tentative) for (const p of packages) this.tentativeKeys.add(p.name);
    if (results.length > 0) await this.blockOrHold(results, manifest, tentative);
    else this.scoped?.scope.grow(manifest);
    return manifest;
  }

  /**
   * The resolved lockfile names the package of every key (read as check reads it): the warnings
   * held for keys a package arriving without a resolution may not have been installed under give
   * way to the verdicts of what those keys really hold. Unreadable: the held warnings are printed.
   */
  private async settleTentative(lockfile: PnpmLockfileLike): Promise<void> {
    let packages: ResolvedPackage[];
    try {
      packages = packagesFromPnpmLockfile(lockfile, this.dir(), undefined, { registries: this.pnpmRegistries() });
    } catch {
      return; // every candidate was checked already; afterAllResolved prints the held warnings
    }
    const keyed = packages.filter((p) => p.source !== 'registry' && p.source !== 'workspace' && this.tentativeKeys.has(p.name));
    const results = (await Promise.all(keyed.map((p) => this.evaluate(p)))).filter((r): r is PackageResult => r !== undefined);
    this.tentativeKeys.clear();
    // Blocks were decided at arrival (each key was checked with every candidate, its own included): only warnings settle here.
    this.verdicts.settle(results.filter((r) => r.verdict !== 'block'));
  }

  /**
   * pnpm 10 shows readPackage no `link:` target and links it after this hook (measured: throwing
   * here leaves nothing linked): its links outside the project are checked here, read from the
   * resolved lockfile as check reads them. pnpm 12 calls this after linking; there readPackage
   * checked them already (each key once).
   */
  async afterAllResolved<T>(lockfile: T): Promise<T> {
    if (this.tentativeKeys.size > 0 && lockfile && typeof lockfile === 'object') await this.settleTentative(lockfile as PnpmLockfileLike);
    if (this.resolutionStarted && lockfile && typeof lockfile === 'object' && hasLinks(lockfile as PnpmLockfileLike)) {
      const g = await this.guard();
      const { lockfileVersion, importers } = lockfile as PnpmLockfileLike;
      // A filtered install links only the selected projects' dependencies.
      const selected = this.selected() ? this.lockfileScope(lockfile as PnpmLockfileLike).importers : undefined;
      const used = selected && importers && typeof importers === 'object' ? Object.fromEntries(Object.entries(importers).filter(([id]) => selected.has(id))) : importers;
      const links = g ? lockedPackages(g, { lockfileVersion, importers: used }, this.dir(), this.write, { registries: this.pnpmRegistries() }) : undefined;
      const unchecked = (links ?? []).filter((p) => p.source === 'link' && !this.view.hasArrived(p.name));
      if (unchecked.length > 0) {
        const results = (await Promise.all(unchecked.map((p) => this.evaluate(p)))).filter((r): r is PackageResult => r !== undefined);
        this.checkResults(results);
      }
    }
    // The last hook of a resolution: warnings still held (a lockfile settleTentative could not
    // read) are printed now, not at exit, which pnpm 12's hook process never reaches (it is killed).
    this.verdicts.flushWarnings(true);
    return lockfile;
  }
}

export function createPnpmHooks(deps: HookDependencies): PnpmHooks {
  const session = new HookSession(deps);
  return {
    updateConfig: (config) => session.updateConfig(config),
    readPackage: (manifest) => session.readPackage(manifest),
    preResolution: (context) => session.preResolution(context),
    afterAllResolved: (lockfile) => session.afterAllResolved(lockfile),
  };
}

/** Whether an importer of the lockfile has a `link:` dependency (pnpm keeps no package entry for it). */
function hasLinks(lockfile: PnpmLockfileLike): boolean {
  const importers = lockfile.importers;
  if (!importers || typeof importers !== 'object') return false;
  for (const importer of Object.values(importers as Record<string, unknown>)) {
    if (!importer || typeof importer !== 'object') continue;
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      const deps = (importer as Record<string, unknown>)[field];
      if (!deps || typeof deps !== 'object') continue;
      for (const value of Object.values(deps as Record<string, unknown>)) {
        const ref = value && typeof value === 'object' ? (value as { version?: unknown }).version : value;
        if (typeof ref === 'string' && ref.startsWith('link:')) return true;
      }
    }
  }
  return false;
}

/** The `name` in an importer's package.json, if readable. */
function importerName(lockfileDir: string, id: string): string | undefined {
  try {
    const manifest: unknown = JSON.parse(readFileSync(join(lockfileDir, id, 'package.json'), 'utf8'));
    return manifest && typeof manifest === 'object' && typeof (manifest as { name?: unknown }).name === 'string' ? (manifest as { name: string }).name : undefined;
  } catch {
    return undefined;
  }
}
