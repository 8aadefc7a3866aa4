/**
 * The pipeline in one place: config → feed (signed evidence) → policy → report.
 * The CLI and the package-manager adapters all go through createGuard().
 */
import { configName, loadConfig } from './config/load';
import type { ConfigMemo } from './config/memo';
import type { Config } from './config/types';
import { agreedMode } from './config/declared-mode';
import { AmbiguousConfigError, ConfigError, FeedError, GuardError } from './errors';
import { parsePublicKey } from './feed/keys';
import { isRangeSource, openRemoteFeedFile, type RemoteFeedFile } from './feed/remote';
import { isLocalFeedSource, resolveFeedSource } from './feed/source';
import { cacheDir, stateDir } from './paths';
import type { Feed } from './feed/reader';
import type { Evaluation } from './policy/evaluate';
import type { Mode, Report, ResolvedPackage } from './types';
import { escapeControl } from './report/escape';

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
  /** The config remembered by a stored verdict (see storedConfigMemo): spares parsing an unchanged file. */
  configMemo?: ConfigMemo;
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
 * `mode:` the broken file still declares (warn means warn, even with a typo further down; two
 * configs in one directory must both declare it); else block: an install is never let through
 * unchecked by default.
 */
export async function failureMode(options: { cwd: string; configPath?: string; fallbackCwds?: readonly string[]; env: NodeJS.ProcessEnv }): Promise<Mode> {
  try {
    return (await loadGoverningConfig(options)).mode;
  } catch (error) {
    const mode = options.env.PROVENANCE_GUARD_MODE;
    if (mode === 'block' || mode === 'warn' || mode === 'off') return mode;
    return agreedMode(configFilesOf(error)) ?? 'block';
  }
}

/** The config files a config error is about: every file of an ambiguous directory, else the error's file. */
function configFilesOf(error: unknown): readonly string[] {
  if (error instanceof AmbiguousConfigError) return error.files;
  return error instanceof GuardError && error.file !== undefined ? [error.file] : [];
}

/** The config from `cwd` upward, else the first found from a fallback directory (see GuardOptions.fallbackCwds). */
export async function loadGoverningConfig(options: { cwd: string; configPath?: string; fallbackCwds?: readonly string[]; env: NodeJS.ProcessEnv; memo?: ConfigMemo }): Promise<Config> {
  const memo = options.memo ? { memo: options.memo } : {};
  const config = await loadConfig({ cwd: options.cwd, ...(options.configPath ? { configPath: options.configPath } : {}), env: options.env, ...memo });
  if (config.filepath || options.configPath) return config;
  for (const dir of options.fallbackCwds ?? []) {
    if (dir === options.cwd) continue;
    const found = await loadConfig({ cwd: dir, env: options.env, ...memo });
    if (found.filepath) return found;
  }
  return config;
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
  /** paths.ts stateDir: this machine's secret and accepted feed serials. */
  stateDir: string;
  now: Date;
}

/**
 * Loads the config with the options' overrides applied and resolves the feed source to a local
 * file (fetching it if needed), without opening the feed: what a verdict reuse needs to know.
 */
export async function resolveGuardInputs(options: GuardOptions): Promise<GuardInputs> {
  return resolveFeed(options, await configFor(options));
}

/**
 * resolveGuardInputs when the feed is a file on this machine; undefined when resolving it would
 * fetch or refresh a remote feed (a repeat `check` then leaves it to the full command).
 */
export async function resolveLocalGuardInputs(options: GuardOptions): Promise<GuardInputs | undefined> {
  const config = await configFor(options);
  if (config.mode !== 'off' && (isRangeSource(config.feed.source) || !isLocalFeedSource(config.feed.source, config.rootDir, options.env ?? process.env))) return undefined;
  return resolveFeed(options, config);
}

/** The governing config with the options' overrides (feed source, offline, online) applied. */
async function configFor(options: GuardOptions): Promise<Config> {
  const env = options.env ?? process.env;
  const config = await loadGoverningConfig({
    cwd: options.cwd, env,
    ...(options.configPath ? { configPath: options.configPath } : {}),
    ...(options.fallbackCwds ? { fallbackCwds: options.fallbackCwds } : {}),
    ...(options.configMemo ? { memo: options.configMemo } : {}),
  });
  if (options.feedSource !== undefined) {
    config.feed.source = options.feedSource;
    config.rootDir = options.cwd;
  }
  if (options.offline !== undefined) config.feed.offline = options.offline;
  if (options.online !== undefined) config.online = options.online;
  if (config.feed.offline) config.online = false;
  if (config.mode !== 'off') checkFeedSettings(config, options.feedSource === undefined, options.env ?? process.env);
  return config;
}

/** A feed error about a value the config file gave: the same code, with the file and key named (SPEC: an invalid config names both). */
function inConfigFile(error: unknown, config: Config, key: string): unknown {
  if (!(error instanceof FeedError) || !config.filepath) return error;
  return new FeedError(`${configName(config.filepath)}: ${key}: ${error.message}`, { file: config.filepath, cause: error, code: error.code });
}

const SOURCE_CODES = new Set(['ERR_PG_FEED_SOURCE_INVALID', 'ERR_PG_FEED_INSECURE']);

/** The config's public keys, and its feed.source when no flag replaced it, are checked before anything uses them. */
function checkFeedSettings(config: Config, sourceFromConfig: boolean, env: NodeJS.ProcessEnv): void {
  config.feed.publicKeys.forEach((key, i) => {
    try {
      parsePublicKey(key);
    } catch (error) {
      throw inConfigFile(error, config, `feed.publicKeys[${i}]`);
    }
  });
  if (!sourceFromConfig || isRangeSource(config.feed.source)) return;
  try {
    isLocalFeedSource(config.feed.source, config.rootDir, env);
  } catch (error) {
    throw error instanceof FeedError && SOURCE_CODES.has(error.code) ? inConfigFile(error, config, 'feed.source') : error;
  }
}

/** The config's feed as a local file (fetched if needed); none under `mode: off`. */
async function resolveFeed(options: GuardOptions, config: Config): Promise<GuardInputs> {
  const env = options.env ?? process.env;
  const now = options.now ?? new Date();
  const cache = cacheDir(env);
  const state = stateDir(env);
  if (config.mode === 'off') return { config, feedPath: undefined, cacheDir: cache, stateDir: state, now };
  if (config.feed.publicKeys.length === 0) {
    throw new ConfigError(
      `${config.filepath ? configName(config.filepath) : `no provenance config found in ${config.rootDir} or above it up to the project root (write one with \`provenance-guard init\`, or pass --config PATH)`}: feed.publicKeys: at least one public key is required to trust the feed (print one with \`provenance-guard feed keygen\`)`,
      { ...(config.filepath ? { file: config.filepath } : {}), code: 'ERR_PG_CONFIG_INVALID' },
    );
  }
  if (isRangeSource(config.feed.source)) {
    const remote = await openRemoteFeedFile(config.feed.source, { cacheDir: cache, stateDir: state, offline: config.feed.offline, publicKeys: config.feed.publicKeys, ...(config.feed.minSerial !== undefined ? { minSerial: config.feed.minSerial } : {}), now });
    return { config, feedPath: remote.path, remote, cacheDir: cache, stateDir: state, now };
  }
  let feedPath: string;
  try {
    feedPath = await resolveFeedSource({ source: config.feed.source, rootDir: config.rootDir, offline: config.feed.offline, cacheDir: cache, stateDir: state, env, warn: warnerOf(options), publicKeys: config.feed.publicKeys, minSerial: config.feed.minSerial, now });
  } catch (error) {
    // An npm spec the config gives that is no registry package (github:…, ftp://…) is found only here.
    throw options.feedSource === undefined && error instanceof FeedError && error.code === 'ERR_PG_FEED_SOURCE_INVALID' ? inConfigFile(error, config, 'feed.source') : error;
  }
  return { config, feedPath, cacheDir: cache, stateDir: state, now };
}

/**
 * Builds a guard; `inputs` are those of resolveGuardInputs(options) when already resolved.
 * The feed reader and the policy load here, on first use: a hook that reuses a stored verdict
 * (src/verdict-store.ts) needs only resolveGuardInputs.
 */
export async function createGuard(options: GuardOptions, inputs?: GuardInputs): Promise<Guard> {
  const resolved = inputs ?? (await resolveGuardInputs(options));
  const { buildGuard } = await import('./guard-build');
  return buildGuard(options, resolved, warnerOf(options));
}
