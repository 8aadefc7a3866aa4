import type { Mode, Tristate, WaivableRule } from '../types';

export interface FeedConfig {
  /** Path (file or directory), https URL, or npm package spec. Relative paths are resolved against `Config.rootDir`. */
  source: string;
  /** Ed25519 public keys, as printed by `feed keygen` (base64 of the raw 32-byte key) or PEM. */
  publicKeys: string[];
  /** Milliseconds after `generatedAt` from which the feed is stale. */
  maxAge: number;
  onStale: Tristate;
  /** Never touch the network; use the cached feed only. */
  offline: boolean;
  /** No feed with a lower serial is accepted, even on a machine that has accepted none yet (0: no floor). */
  minSerial: number;
}

export interface RepositoryRuleConfig {
  require: 'claimed' | 'attested' | 'off';
  /** Hosts a repository may live on; empty = any host. Lower-case. */
  allowedHosts: string[];
}

export interface RebuildRuleConfig {
  require: 'reproducible' | 'off';
}

/** Source match (SPEC "Source match"): `diverged` always violates; `built` violates `match`. */
export interface ContentsRuleConfig {
  require: 'match' | 'built' | 'off';
}

export interface ScorecardRuleConfig {
  /** Minimum aggregate score 0–10; undefined = no aggregate minimum. */
  minScore?: number;
  /** Minimum per-check scores, by check name as Scorecard spells it. */
  checks: Record<string, number>;
}

export interface RulesConfig {
  repository: RepositoryRuleConfig;
  rebuild: RebuildRuleConfig;
  /** null when the rule is off. */
  scorecard: ScorecardRuleConfig | null;
  contents: ContentsRuleConfig;
}

export interface OverrideConfig {
  /** name, @scope/*, or name@semver-range. */
  package: string;
  rules: WaivableRule[] | 'all';
  reason: string;
  /** YYYY-MM-DD; the override applies through the end of that day (UTC). */
  expires: string;
}

/** An evidence source that can be switched off or pointed at a mirror. */
export interface SourceEndpoint {
  enabled: boolean;
  /** Base URL; for the registry, undefined = the registry from the user's .npmrc. */
  url?: string;
}

/** Live evidence sources (used by `feed build --from-lockfile` and `check --online`). */
export interface SourcesConfig {
  registry: SourceEndpoint;
  provenance: SourceEndpoint;
  depsDev: SourceEndpoint;
  scorecard: SourceEndpoint;
  ossRebuild: SourceEndpoint;
  /** Per-request timeout in milliseconds. */
  timeout: number;
  /** Requests in flight at once, per source. */
  concurrency: number;
  /** How long fetched evidence stays in the on-disk cache, in milliseconds. */
  cacheTtl: number;
  /** `warn`: a failing source leaves evidence unknown with a warning; `fail`: the run fails (exit 2). */
  onError: 'warn' | 'fail';
}

export interface Config {
  mode: Mode;
  feed: FeedConfig;
  rules: RulesConfig;
  unknown: Tristate;
  exclude: string[];
  overrides: OverrideConfig[];
  sources: SourcesConfig;
  /** Gather evidence live for packages missing from the feed (CLI `--online`; never in hooks unless set). */
  online: boolean;
  /** The file the config came from; undefined when defaults were used. */
  filepath?: string;
  /** Directory relative paths in the config are resolved against (the config file's directory, or cwd). */
  rootDir: string;
}
