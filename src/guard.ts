/**
 * The pipeline in one place: config → feed (signed evidence) → policy → report.
 * The CLI and the package-manager adapters all go through createGuard().
 */
import { loadConfig } from './config/load';
import type { Config } from './config/types';
import { ConfigError } from './errors';
import { openFeed, type Feed } from './feed/reader';
import { resolveFeedSource } from './feed/source';
import { cacheDir } from './paths';
import { Policy, type Evaluation, type FeedState } from './policy/evaluate';
import { buildReport } from './report/build';
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
 * feed): the config's mode when it still loads, else PROVENANCE_GUARD_MODE when that is warn
 * or off, else block: an install is never let through unchecked by default.
 */
export async function failureMode(options: { cwd: string; configPath?: string; fallbackCwds?: readonly string[]; env: NodeJS.ProcessEnv }): Promise<Mode> {
  try {
    return (await loadGoverningConfig(options)).mode;
  } catch {
    const mode = options.env.PROVENANCE_GUARD_MODE;
    return mode === 'warn' || mode === 'off' ? mode : 'block';
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
  return `${pkg.name}@${pkg.version}\u0000${pkg.integrity ?? ''}\u0000${pkg.source}\u0000${pkg.resolved ?? ''}`;
}

export async function createGuard(options: GuardOptions): Promise<Guard> {
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
  const warn = options.warn ?? ((message: string) => process.stderr.write(`provenance-guard: ${message}\n`));

  let feed: Feed | undefined;
  let feedState: FeedState = { stale: false };
  if (config.mode !== 'off') {
    if (config.feed.publicKeys.length === 0) {
      throw new ConfigError(
        `${config.filepath ?? 'config'}: feed.publicKeys: at least one public key is required to trust the feed (print one with \`provenance-guard feed keygen\`)`,
        config.filepath ? { file: config.filepath } : {},
      );
    }
    const path = await resolveFeedSource({ source: config.feed.source, rootDir: config.rootDir, offline: config.feed.offline, cacheDir: cache, env, warn });
    feed = openFeed(path, { publicKeys: config.feed.publicKeys, cacheDir: cache, now });
    const generated = Date.parse(feed.header.generatedAt);
    feedState = { stale: Number.isFinite(generated) && now.getTime() - generated > config.feed.maxAge, generatedAt: feed.header.generatedAt };
  }
  const policy = new Policy(config, now);

  async function evaluate(packages: readonly ResolvedPackage[]): Promise<Evaluation[]> {
    const unique = new Map<string, ResolvedPackage>();
    for (const pkg of packages) if (pkg.source !== 'workspace') unique.set(uniqueKey(pkg), pkg);
    const list = [...unique.values()];
    const records = new Map<ResolvedPackage, FeedRecord | undefined>();
    const needsEvidence = (pkg: ResolvedPackage) => config.mode !== 'off' && pkg.source === 'registry' && policy.excludedBy(pkg) === undefined;
    for (const pkg of list) if (feed && needsEvidence(pkg)) records.set(pkg, feed.lookup(pkg.name, pkg.version));

    if (config.online) {
      const missing = list.filter((pkg) => needsEvidence(pkg) && records.get(pkg) === undefined);
      if (missing.length > 0) {
        // Loaded lazily: only `--online` runs pay for the network stack.
        const { gatherEvidence } = await import('./evidence/index');
        const gathered = await gatherEvidence(missing, { sources: config.sources, cacheDir: cache, npmrc: { cwd: options.cwd }, env });
        gathered.warnings.forEach(warn);
        const byId = new Map(gathered.records.map((r) => [`${r.name}@${r.version}`, r]));
        for (const pkg of missing) records.set(pkg, byId.get(`${pkg.name}@${pkg.version}`));
      }
    }
    return list.map((pkg) => policy.evaluate(pkg, records.get(pkg), feedState));
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
