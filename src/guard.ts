/**
 * The pipeline in one place: config → feed (signed evidence) → policy → report.
 * The CLI and the package-manager adapters all go through createGuard().
 */
import semver from 'semver';
import { loadConfig } from './config/load';
import type { Config } from './config/types';
import { declaredMode } from './config/declared-mode';
import { ConfigError, GuardError } from './errors';
import { openFeed, type Feed } from './feed/reader';
import { isRangeSource, openRemoteFeedFile, type RemoteFeedFile } from './feed/remote';
import { resolveFeedSource } from './feed/source';
import { packageKey } from './lockfile/source';
import { cacheDir } from './paths';
import { identityProblem, Policy, type Evaluation, type FeedState } from './policy/evaluate';
import { buildReport } from './report/build';
import { escapeControl } from './report/escape';
import { summarizeSourceWarnings } from './report/source-failures';
import type { FeedRecord, Mode, Report, ResolvedPackage } from './types';

export interface GuardOptions {
  /** Project directory; the config is searched from here upward. */
  cwd: string;
  configPath?: string;
  /**
   * Where to look for the config when none is found from `cwd` upward: the project the
   * package manager was invoked from, when it installs into another directory (`pnpm deploy`,
   * `yarn dlx`). The invoking project's policy then governs, instead of no policy at all.
   */
  fallbackCwds?: readonly string[];
  /** Overrides `feed.source`. */
  feedSource?: string;
  /** Overrides `feed.offline`. */
  offline?: boolean;
  /** Gather live evidence for packages missing from the feed. */
  online?: boolean;
  env?: NodeJS.ProcessEnv;
  now?: Date;
  /** Where warnings from live evidence go (default: stderr). */
  warn?: (message: string) => void;
}

export interface Guard {
  readonly config: Config;
  /** The opened feed; undefined under `mode: off`. */
  readonly feed: Feed | undefined;
  /** Evaluates packages (workspace packages are dropped, duplicates merged). */
  check(packages: readonly ResolvedPackage[]): Promise<Report>;
  /** Like check, with everything `explain` shows. */
  evaluate(packages: readonly ResolvedPackage[]): Promise<Evaluation[]>;
  close(): void;
}

/**
 * The mode to handle a failure to set the guard up with (an invalid config, an untrusted
 * feed): the config's mode when it still loads; else PROVENANCE_GUARD_MODE when set; else the
 * `mode:` the broken file still declares (warn means warn, even with a typo further down);
 * else block: an install is never let through unchecked by default.
 */
export async function failureMode(options: { cwd: string; configPath?: string; fallbackCwds?: readonly string[]; env: NodeJS.ProcessEnv }): Promise<Mode> {
  try {
    return (await loadGoverningConfig(options)).mode;
  } catch (error) {
    const mode = options.env.PROVENANCE_GUARD_MODE;
    if (mode === 'block' || mode === 'warn' || mode === 'off') return mode;
    const file = error instanceof GuardError ? error.file : undefined;
    return (file !== undefined ? declaredMode(file) : undefined) ?? 'block';
  }
}

/** The config from `cwd` upward, else the first found from a fallback directory (see GuardOptions.fallbackCwds). */
export async function loadGoverningConfig(options: { cwd: string; configPath?: string; fallbackCwds?: readonly string[]; env: NodeJS.ProcessEnv }): Promise<Config> {
  const config = await loadConfig({ cwd: options.cwd, ...(options.configPath ? { configPath: options.configPath } : {}), env: options.env });
  if (config.filepath || options.configPath) return config;
  for (const dir of options.fallbackCwds ?? []) {
    if (dir === options.cwd) continue;
    const found = await loadConfig({ cwd: dir, env: options.env });
    if (found.filepath) return found;
  }
  return config;
}

function uniqueKey(pkg: ResolvedPackage): string {
  return `${packageKey(pkg.name, pkg.version)}\u0000${pkg.integrity ?? ''}\u0000${pkg.source}\u0000${pkg.resolved ?? ''}`;
}

/** The alias the user wrote and the path that brought the package in, for the report. */
function withOrigin(evaluation: Evaluation, pkg: ResolvedPackage): Evaluation {
  if (pkg.alias !== undefined && pkg.alias !== pkg.name) evaluation.alias = pkg.alias;
  if (pkg.via !== undefined && pkg.via.length > 0) evaluation.via = pkg.via;
  return evaluation;
}

/** Warnings quote registries, feeds and lockfiles: escaped here, for every front end. */
function warnerOf(options: GuardOptions): (message: string) => void {
  const sink = options.warn ?? ((message: string) => process.stderr.write(`provenance-guard: ${message}\n`));
  return (message) => sink(escapeControl(message));
}

/** What a guard is built from: the resolved config and feed file (see resolveGuardInputs). */
export interface GuardInputs {
  config: Config;
  /** The local feed file to open; undefined under `mode: off`. */
  feedPath: string | undefined;
  /** For a `#range` https source: fetches the pages lookups will need into feedPath. */
  remote?: RemoteFeedFile;
  cacheDir: string;
  now: Date;
}

/**
 * Loads the config with the options' overrides applied and resolves the feed source to a local
 * file (fetching it if needed), without opening the feed: what a verdict reuse needs to know.
 */
export async function resolveGuardInputs(options: GuardOptions): Promise<GuardInputs> {
  const env = options.env ?? process.env;
  const config = await loadGoverningConfig({ cwd: options.cwd, ...(options.configPath ? { configPath: options.configPath } : {}), ...(options.fallbackCwds ? { fallbackCwds: options.fallbackCwds } : {}), env });
  if (options.feedSource !== undefined) {
    config.feed.source = options.feedSource;
    config.rootDir = options.cwd;
  }
  if (options.offline !== undefined) config.feed.offline = options.offline;
  if (options.online !== undefined) config.online = options.online;
  if (config.feed.offline) config.online = false;
  const now = options.now ?? new Date();
  const cache = cacheDir(env);
  const warn = warnerOf(options);
  let feedPath: string | undefined;
  if (config.mode !== 'off') {
    if (config.feed.publicKeys.length === 0) {
      throw new ConfigError(
        `${config.filepath ?? 'config'}: feed.publicKeys: at least one public key is required to trust the feed (print one with \`provenance-guard feed keygen\`)`,
        { ...(config.filepath ? { file: config.filepath } : {}), code: 'ERR_PG_CONFIG_INVALID' },
      );
    }
    if (isRangeSource(config.feed.source)) {
      const remote = await openRemoteFeedFile(config.feed.source, { cacheDir: cache, offline: config.feed.offline });
      return { config, feedPath: remote.path, remote, cacheDir: cache, now };
    }
    feedPath = await resolveFeedSource({ source: config.feed.source, rootDir: config.rootDir, offline: config.feed.offline, cacheDir: cache, env, warn, publicKeys: config.feed.publicKeys, minSerial: config.feed.minSerial, now });
  }
  return { config, feedPath, cacheDir: cache, now };
}

/** Builds a guard; `inputs` are those of resolveGuardInputs(options) when already resolved. */
export async function createGuard(options: GuardOptions, inputs?: GuardInputs): Promise<Guard> {
  const env = options.env ?? process.env;
  const warn = warnerOf(options);
  const { config, feedPath, remote, cacheDir: cache, now } = inputs ?? (await resolveGuardInputs(options));

  let feed: Feed | undefined;
  let feedState: FeedState = { stale: false };
  if (feedPath !== undefined) {
    feed = openFeed(feedPath, { publicKeys: config.feed.publicKeys, minSerial: config.feed.minSerial, cacheDir: cache, now, ...(remote?.pages ? { pages: remote.pages } : {}) });
    const generated = Date.parse(feed.header.generatedAt);
    feedState = { stale: Number.isFinite(generated) && now.getTime() - generated > config.feed.maxAge, generatedAt: feed.header.generatedAt };
  }
  const policy = new Policy(config, now);

  async function evaluate(packages: readonly ResolvedPackage[]): Promise<Evaluation[]> {
    const unique = new Map<string, ResolvedPackage>();
    for (const pkg of packages) if (pkg.source !== 'workspace') unique.set(uniqueKey(pkg), pkg);
    const list = [...unique.values()];
    const records = new Map<ResolvedPackage, FeedRecord | undefined>();
    const needsEvidence = (pkg: ResolvedPackage) => config.mode !== 'off' && pkg.source === 'registry' && identityProblem(pkg) === undefined && policy.excludedBy(pkg) === undefined;
    // A tarball URL claiming a name@version the feed knows must carry that record's bytes.
    const claimsRecord = (pkg: ResolvedPackage) => config.mode !== 'off' && pkg.source === 'tarball' && semver.valid(pkg.version) !== null && policy.excludedBy(pkg) === undefined;
    const lookedUp = list.filter((pkg) => needsEvidence(pkg) || claimsRecord(pkg));
    if (feed && remote) await remote.prefetch(lookedUp);
    for (const pkg of lookedUp) if (feed) records.set(pkg, feed.lookup(pkg.name, pkg.version));

    if (config.online) {
      const missing = list.filter((pkg) => needsEvidence(pkg) && records.get(pkg) === undefined);
      if (missing.length > 0) {
        // Loaded lazily: only `--online` runs pay for the network stack.
        const { gatherEvidence } = await import('./evidence/index');
        const gathered = await gatherEvidence(missing, { sources: config.sources, cacheDir: cache, npmrc: { cwd: options.cwd }, env });
        // One line per failed source, with the setting that turns it off.
        for (const line of summarizeSourceWarnings(gathered.warnings)) warn(line.replace(/^provenance-guard: /, ''));
        const byId = new Map(gathered.records.map((r) => [packageKey(r.name, r.version), r]));
        for (const pkg of missing) records.set(pkg, byId.get(packageKey(pkg.name, pkg.version)));
      }
    }
    return list.map((pkg) => withOrigin(policy.evaluate(pkg, records.get(pkg), feedState), pkg));
  }

  return {
    config,
    feed,
    evaluate,
    async check(packages) {
      return buildReport(await evaluate(packages));
    },
    close() {
      feed?.close();
    },
  };
}
