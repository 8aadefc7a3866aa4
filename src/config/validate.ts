import { isWaivableRule, WAIVABLE_RULES, type Mode, type Tristate, type WaivableRule } from '../types';
import { defaultConfig } from './defaults';
import { parseDuration } from './duration';
import { parsePackagePattern } from '../package-pattern';
import type { Config, OverrideConfig, ScorecardRuleConfig, SourceEndpoint, SourcesConfig } from './types';

const MODES: readonly Mode[] = ['block', 'warn', 'off'];
const TRISTATES: readonly Tristate[] = ['allow', 'warn', 'block'];

type Plain = Record<string, unknown>;

/** Collects every problem in a config with its key path, so a user fixes them all at once. */
class Problems {
  readonly list: string[] = [];
  add(key: string, problem: string): void {
    this.list.push(`${key}: ${problem}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid date' : `the date ${value.toISOString().slice(0, 10)}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function checkKeys(obj: Plain, allowed: readonly string[], path: string, problems: Problems): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      problems.add(path ? `${path}.${key}` : key, `unknown key (expected one of: ${allowed.join(', ')})`);
    }
  }
}

function oneOf<T extends string>(value: unknown, choices: readonly T[], key: string, problems: Problems): T | undefined {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  problems.add(key, `expected one of ${choices.join(' | ')}, got ${describe(value)}`);
  return undefined;
}

function bool(value: unknown, key: string, problems: Problems): boolean | undefined {
  if (typeof value === 'boolean') return value;
  problems.add(key, `expected true or false, got ${describe(value)}`);
  return undefined;
}

function stringList(value: unknown, key: string, problems: Problems): string[] | undefined {
  if (!Array.isArray(value)) {
    problems.add(key, `expected a list of strings, got ${describe(value)}`);
    return undefined;
  }
  const out: string[] = [];
  value.forEach((item, i) => {
    if (typeof item === 'string' && item.trim() !== '') out.push(item.trim());
    else problems.add(`${key}[${i}]`, `expected a non-empty string, got ${describe(item)}`);
  });
  return out;
}

function duration(value: unknown, key: string, problems: Problems): number | undefined {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms <= 0) {
    problems.add(key, `expected a duration such as 30m, 12h, 7d or 2w (at most 36500d), got ${describe(value)}`);
    return undefined;
  }
  return ms;
}

function numberIn(value: unknown, min: number, max: number, key: string, problems: Problems): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max) return value;
  problems.add(key, `expected a number from ${min} to ${max}, got ${describe(value)}`);
  return undefined;
}

function url(value: unknown, key: string, problems: Problems): string | undefined {
  if (typeof value === 'string') {
    try {
      const parsed = new URL(value);
      if (parsed.protocol === 'https:' || parsed.protocol === 'http:') return value.replace(/\/+$/, '');
    } catch {
      // reported below
    }
  }
  problems.add(key, `expected an http(s) URL, got ${describe(value)}`);
  return undefined;
}

/** `YYYY-MM-DD` (YAML may also hand us a Date). */
function isoDate(value: unknown, key: string, problems: Problems): string | undefined {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString().slice(0, 10);
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const date = new Date(`${value}T00:00:00Z`);
    if (!Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value) return value;
  }
  problems.add(key, `expected a date as YYYY-MM-DD, got ${describe(value)}`);
  return undefined;
}

function validateFeed(raw: unknown, config: Config, problems: Problems): void {
  if (!isPlain(raw)) {
    problems.add('feed', `expected an object, got ${describe(raw)}`);
    return;
  }
  checkKeys(raw, ['source', 'publicKeys', 'maxAge', 'onStale', 'offline', 'minSerial'], 'feed', problems);
  const feed = config.feed;
  if (raw.source !== undefined) {
    if (typeof raw.source === 'string' && raw.source.trim() !== '') feed.source = raw.source.trim();
    else problems.add('feed.source', `expected a path, https URL or npm package spec, got ${describe(raw.source)}`);
  }
  if (raw.publicKeys !== undefined) feed.publicKeys = stringList(raw.publicKeys, 'feed.publicKeys', problems) ?? [];
  if (raw.maxAge !== undefined) feed.maxAge = duration(raw.maxAge, 'feed.maxAge', problems) ?? feed.maxAge;
  if (raw.onStale !== undefined) feed.onStale = oneOf(raw.onStale, TRISTATES, 'feed.onStale', problems) ?? feed.onStale;
  if (raw.offline !== undefined) feed.offline = bool(raw.offline, 'feed.offline', problems) ?? feed.offline;
  if (raw.minSerial !== undefined) {
    const n = raw.minSerial;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) feed.minSerial = n;
    else problems.add('feed.minSerial', `expected a whole number of 0 or more (a feed serial), got ${describe(n)}`);
  }
}

function validateRules(raw: unknown, config: Config, problems: Problems): void {
  if (!isPlain(raw)) {
    problems.add('rules', `expected an object, got ${describe(raw)}`);
    return;
  }
  checkKeys(raw, ['repository', 'rebuild', 'scorecard', 'contents'], 'rules', problems);
  const rules = config.rules;
  validateRepositoryRule(raw.repository, rules, problems);
  rules.rebuild.require = requireOf(raw.rebuild, 'rebuild', ['reproducible', 'off'] as const, problems) ?? rules.rebuild.require;
  rules.contents.require = requireOf(raw.contents, 'contents', ['match', 'built', 'off'] as const, problems) ?? rules.contents.require;
  validateScorecardRule(raw.scorecard, rules, problems);
}

/** A rule given as `off` or `{ require: … }` (rebuild, contents): its `require`, undefined when not given. */
function requireOf<T extends string>(value: unknown, rule: string, allowed: readonly T[], problems: Problems): T | 'off' | undefined {
  if (value === 'off' || value === false) return 'off';
  if (isPlain(value)) {
    checkKeys(value, ['require'], `rules.${rule}`, problems);
    return value.require === undefined ? undefined : oneOf(value.require, allowed, `rules.${rule}.require`, problems);
  }
  if (value !== undefined) problems.add(`rules.${rule}`, `expected an object or off, got ${describe(value)}`);
  return undefined;
}

function validateRepositoryRule(repo: unknown, rules: Config['rules'], problems: Problems): void {
  if (repo === 'off' || repo === false) {
    rules.repository.require = 'off';
    return;
  }
  if (!isPlain(repo)) {
    if (repo !== undefined) problems.add('rules.repository', `expected an object or off, got ${describe(repo)}`);
    return;
  }
  checkKeys(repo, ['require', 'allowedHosts'], 'rules.repository', problems);
  if (repo.require !== undefined) {
    rules.repository.require = oneOf(repo.require, ['claimed', 'attested', 'off'] as const, 'rules.repository.require', problems) ?? rules.repository.require;
  }
  if (repo.allowedHosts !== undefined) {
    const hosts = stringList(repo.allowedHosts, 'rules.repository.allowedHosts', problems) ?? [];
    hosts.forEach((host, i) => {
      if (!HOST_NAME.test(host)) problems.add(`rules.repository.allowedHosts[${i}]`, `${JSON.stringify(host)} is not a host name (write it as github.com: no scheme, port or path)`);
    });
    rules.repository.allowedHosts = hosts.map((h) => h.toLowerCase());
  }
}

/** What a repository URL's host can be compared with (policy/repository-host.ts): a name or address, never a URL, port or path. */
const HOST_NAME = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*)$/i;

function scorecardChecks(checks: unknown, problems: Problems): Record<string, number> {
  const out: Record<string, number> = {};
  if (!isPlain(checks)) {
    problems.add('rules.scorecard.checks', `expected an object of check name → minimum score, got ${describe(checks)}`);
    return out;
  }
  for (const [name, min] of Object.entries(checks)) {
    const value = numberIn(min, 0, 10, `rules.scorecard.checks.${name}`, problems);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function validateScorecardRule(scorecard: unknown, rules: Config['rules'], problems: Problems): void {
  if (scorecard === 'off' || scorecard === false || scorecard === null) {
    rules.scorecard = null;
    return;
  }
  if (!isPlain(scorecard)) {
    if (scorecard !== undefined) problems.add('rules.scorecard', `expected an object or off, got ${describe(scorecard)}`);
    return;
  }
  checkKeys(scorecard, ['minScore', 'checks'], 'rules.scorecard', problems);
  const rule: ScorecardRuleConfig = { checks: {} };
  if (scorecard.minScore !== undefined) {
    const min = numberIn(scorecard.minScore, 0, 10, 'rules.scorecard.minScore', problems);
    if (min !== undefined) rule.minScore = min;
  }
  if (scorecard.checks !== undefined) rule.checks = scorecardChecks(scorecard.checks, problems);
  if (scorecard.minScore === undefined && scorecard.checks === undefined) {
    problems.add('rules.scorecard', 'expected minScore and/or checks (or `off` to disable the rule)');
  }
  rules.scorecard = rule;
}

function validatePatterns(raw: unknown, problems: Problems): string[] {
  const list = stringList(raw, 'exclude', problems) ?? [];
  list.forEach((pattern, i) => {
    const problem = parsePackagePattern(pattern).problem;
    if (problem) problems.add(`exclude[${i}]`, problem);
  });
  return list;
}

function validateOverrides(raw: unknown, problems: Problems): OverrideConfig[] {
  if (!Array.isArray(raw)) {
    problems.add('overrides', `expected a list, got ${describe(raw)}`);
    return [];
  }
  const out: OverrideConfig[] = [];
  raw.forEach((entry, i) => {
    const key = `overrides[${i}]`;
    if (!isPlain(entry)) {
      problems.add(key, `expected an object with package, rules, reason and expires, got ${describe(entry)}`);
      return;
    }
    checkKeys(entry, ['package', 'rules', 'reason', 'expires'], key, problems);
    const before = problems.list.length;
    let pkg = '';
    if (typeof entry.package === 'string' && entry.package.trim() !== '') {
      pkg = entry.package.trim();
      const problem = parsePackagePattern(pkg).problem;
      if (problem) problems.add(`${key}.package`, problem);
    } else problems.add(`${key}.package`, `required: the package (name, @scope/* or name@range) it waives rules for, got ${describe(entry.package)}`);

    let rules: WaivableRule[] | 'all' = [];
    const rawRules = entry.rules === 'all' ? ['all'] : entry.rules;
    if (!Array.isArray(rawRules) || rawRules.length === 0) {
      problems.add(`${key}.rules`, `required: a list of rules to waive (${WAIVABLE_RULES.join(', ')}) or [all], got ${describe(entry.rules)}`);
    } else if (rawRules.includes('all')) {
      if (rawRules.length > 1) problems.add(`${key}.rules`, '`all` cannot be combined with other rules');
      rules = 'all';
    } else {
      rawRules.forEach((rule: unknown, j: number) => {
        if (typeof rule === 'string' && isWaivableRule(rule)) (rules as WaivableRule[]).push(rule);
        else if (rule === 'integrity') problems.add(`${key}.rules[${j}]`, 'an integrity mismatch cannot be waived: fix the lockfile or the feed');
        else problems.add(`${key}.rules[${j}]`, `expected one of ${WAIVABLE_RULES.join(', ')}, all; got ${describe(rule)}`);
      });
    }
    const reason = typeof entry.reason === 'string' ? entry.reason.trim() : '';
    if (!reason) problems.add(`${key}.reason`, 'required: say why the waiver is acceptable');
    const expires = entry.expires === undefined ? undefined : isoDate(entry.expires, `${key}.expires`, problems);
    if (entry.expires === undefined) problems.add(`${key}.expires`, 'required: the date (YYYY-MM-DD) after which the override no longer applies');
    if (problems.list.length === before && expires !== undefined) out.push({ package: pkg, rules, reason, expires });
  });
  return out;
}

function validateEndpoint(raw: unknown, base: SourceEndpoint, key: string, problems: Problems): SourceEndpoint {
  if (raw === false || raw === 'off') return { ...base, enabled: false };
  if (raw === true) return { ...base, enabled: true };
  if (typeof raw === 'string') {
    const u = url(raw, key, problems);
    return u ? { enabled: true, url: u } : base;
  }
  if (!isPlain(raw)) {
    problems.add(key, `expected an object { enabled, url }, a URL, or off, got ${describe(raw)}`);
    return base;
  }
  checkKeys(raw, ['enabled', 'url'], key, problems);
  const out: SourceEndpoint = { ...base };
  if (raw.enabled !== undefined) out.enabled = bool(raw.enabled, `${key}.enabled`, problems) ?? out.enabled;
  if (raw.url !== undefined) {
    const u = url(raw.url, `${key}.url`, problems);
    if (u) out.url = u;
  }
  return out;
}

function validateSources(raw: unknown, config: Config, problems: Problems): void {
  if (!isPlain(raw)) {
    problems.add('sources', `expected an object, got ${describe(raw)}`);
    return;
  }
  const endpoints = ['registry', 'provenance', 'depsDev', 'scorecard', 'ossRebuild'] as const;
  checkKeys(raw, [...endpoints, 'timeout', 'concurrency', 'cacheTtl', 'onError'], 'sources', problems);
  const sources: SourcesConfig = config.sources;
  for (const name of endpoints) {
    if (raw[name] !== undefined) sources[name] = validateEndpoint(raw[name], sources[name], `sources.${name}`, problems);
  }
  if (raw.timeout !== undefined) sources.timeout = duration(raw.timeout, 'sources.timeout', problems) ?? sources.timeout;
  if (raw.cacheTtl !== undefined) sources.cacheTtl = duration(raw.cacheTtl, 'sources.cacheTtl', problems) ?? sources.cacheTtl;
  if (raw.concurrency !== undefined) {
    const n = raw.concurrency;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 64) sources.concurrency = n;
    else problems.add('sources.concurrency', `expected a whole number from 1 to 64, got ${describe(n)}`);
  }
  if (raw.onError !== undefined) sources.onError = oneOf(raw.onError, ['warn', 'fail'] as const, 'sources.onError', problems) ?? sources.onError;
}

export const TOP_LEVEL_KEYS = ['mode', 'feed', 'rules', 'unknown', 'exclude', 'overrides', 'sources', 'online'] as const;

/**
 * Validates a raw config object (as cosmiconfig loaded it) and merges it over the defaults.
 * Returns the config and every problem found, each as `key: problem`.
 */
export function validateConfig(raw: unknown, rootDir: string): { config: Config; problems: string[] } {
  const problems = new Problems();
  const config = defaultConfig(rootDir);
  if (raw === null || raw === undefined) return { config, problems: problems.list };
  if (!isPlain(raw)) {
    problems.add('(top level)', `expected an object of settings, got ${describe(raw)}`);
    return { config, problems: problems.list };
  }
  checkKeys(raw, TOP_LEVEL_KEYS, '', problems);
  if (raw.mode !== undefined) config.mode = oneOf(raw.mode, MODES, 'mode', problems) ?? config.mode;
  if (raw.unknown !== undefined) config.unknown = oneOf(raw.unknown, TRISTATES, 'unknown', problems) ?? config.unknown;
  if (raw.online !== undefined) config.online = bool(raw.online, 'online', problems) ?? config.online;
  if (raw.feed !== undefined) validateFeed(raw.feed, config, problems);
  if (raw.rules !== undefined) validateRules(raw.rules, config, problems);
  if (raw.exclude !== undefined) config.exclude = validatePatterns(raw.exclude, problems);
  if (raw.overrides !== undefined) config.overrides = validateOverrides(raw.overrides, problems);
  if (raw.sources !== undefined) validateSources(raw.sources, config, problems);
  return { config, problems: problems.list };
}

