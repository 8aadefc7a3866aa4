import type { Config, OverrideConfig } from '../config/types';
import { isSemver } from '../lockfile/common';
import { packageNameProblem } from '../package-name';
import { compilePatterns, parsePackagePattern, type PackagePattern } from '../package-pattern';
import { WAIVABLE_RULES, type FeedRecord, type Finding, type PackageResult, type ResolvedPackage, type RuleName, type Severity, type Verdict, type WaivableRule } from '../types';
import { bindIntegrity } from './integrity';
import { repositoryHost } from './repository-host';

/** What a rule concluded for one package, before modes and overrides turn it into a finding. */
export type Outcome = 'pass' | 'violation' | 'missing' | 'off';

export interface RuleDecision {
  rule: RuleName;
  outcome: Outcome;
  message: string;
}

/** Everything `explain` shows; the report keeps only the PackageResult part. */
export interface Evaluation extends PackageResult {
  record?: FeedRecord;
  decisions: RuleDecision[];
  /** Findings an unexpired override removed. */
  waived: Finding[];
  appliedOverrides: OverrideConfig[];
  expiredOverrides: OverrideConfig[];
  excludedBy?: string;
}

export interface FeedState {
  /** The feed is older than `feed.maxAge`. */
  stale: boolean;
  generatedAt?: string;
}

interface CompiledOverride {
  override: OverrideConfig;
  pattern: PackagePattern;
  /** Last moment (UTC) at which it still applies. */
  until: number;
}

/** The policy of one config, compiled once and applied to every package. */
export class Policy {
  private readonly exclude: PackagePattern[];
  private readonly overrides: CompiledOverride[];

  constructor(
    readonly config: Config,
    private readonly now: Date = new Date(),
  ) {
    this.exclude = compilePatterns(config.exclude);
    this.overrides = config.overrides.flatMap((override) => {
      const { pattern } = parsePackagePattern(override.package);
      return pattern ? [{ override, pattern, until: Date.parse(`${override.expires}T23:59:59.999Z`) }] : [];
    });
  }

  excludedBy(pkg: ResolvedPackage): string | undefined {
    return this.exclude.find((p) => p.matches(pkg.name, pkg.version))?.source;
  }

  evaluate(pkg: ResolvedPackage, record: FeedRecord | undefined, feed?: FeedState): Evaluation {
    const evaluation: Evaluation = { name: pkg.name, version: pkg.version, verdict: 'skip', findings: [], decisions: [], waived: [], appliedOverrides: [], expiredOverrides: [] };
    if (record) evaluation.record = record;
    const malformed = this.config.mode === 'off' ? undefined : identityProblem(pkg);
    if (malformed) {
      // Never looked up, excluded or waived by name: a lockfile entry nobody could have published.
      const decision: RuleDecision = { rule: 'source', outcome: 'violation', message: `${malformed}: not a package from any registry` };
      return { ...evaluation, decisions: [decision], findings: [{ rule: 'source', severity: this.severityOf(decision)!, message: decision.message }], verdict: this.config.mode === 'block' ? 'block' : 'warn' };
    }
    const excludedBy = this.excludedBy(pkg);
    if (excludedBy !== undefined) {
      evaluation.excludedBy = excludedBy;
      return evaluation;
    }
    if (this.config.mode === 'off') return evaluation;

    const decisions = pkg.source === 'registry' ? this.registryDecisions(pkg, record) : sourceDecisions(pkg, record);
    const findings: Finding[] = [];
    for (const decision of decisions) {
      const severity = this.severityOf(decision);
      if (severity) findings.push({ rule: decision.rule, severity, message: decision.message });
    }
    if (feed?.stale) {
      const severity = this.tristateSeverity(this.config.feed.onStale);
      if (severity) {
        findings.push({ rule: 'feed', severity, message: `the verdict feed is stale (generated ${feed.generatedAt ?? 'at an unknown time'}, older than feed.maxAge)` });
      }
    }

    const waivable = new Set<RuleName>();
    for (const entry of this.overrides) {
      if (!entry.pattern.matches(pkg.name, pkg.version)) continue;
      if (this.now.getTime() > entry.until) {
        evaluation.expiredOverrides.push(entry.override);
        findings.push({
          rule: 'override',
          severity: 'warn',
          message: `override "${entry.override.package}" expired on ${entry.override.expires} and no longer applies (reason was: ${entry.override.reason})`,
        });
        continue;
      }
      evaluation.appliedOverrides.push(entry.override);
      const rules: readonly WaivableRule[] = entry.override.rules === 'all' ? WAIVABLE_RULES : entry.override.rules;
      rules.forEach((r) => waivable.add(r));
    }
    if (waivable.size === 0) evaluation.findings = findings;
    else {
      evaluation.findings = findings.filter((f) => !waivable.has(f.rule));
      evaluation.waived = findings.filter((f) => waivable.has(f.rule));
    }
    evaluation.decisions = decisions;
    evaluation.verdict = verdictOf(evaluation.findings);
    return evaluation;
  }

  private registryDecisions(pkg: ResolvedPackage, record: FeedRecord | undefined): RuleDecision[] {
    const decisions: RuleDecision[] = [];
    if (record?.integrity !== undefined) decisions.push(integrityDecision(pkg, record.integrity));
    decisions.push(this.repositoryDecision(record), this.rebuildDecision(record), ...this.scorecardDecisions(record), this.contentsDecision(record));
    return decisions;
  }

  private repositoryDecision(record: FeedRecord | undefined): RuleDecision {
    const rule = this.config.rules.repository;
    if (rule.require === 'off') return { rule: 'repository', outcome: 'off', message: 'rule is off' };
    if (!record) return notInFeed('repository');
    const repo = record.repository;
    if (!repo) return { rule: 'repository', outcome: 'missing', message: 'no source repository is known for this version' };
    if (repo.status === 'none' || repo.url === undefined) {
      return { rule: 'repository', outcome: 'violation', message: 'the package manifest names no source repository' };
    }
    if (repo.status === 'mismatch') {
      return {
        rule: 'repository',
        outcome: 'violation',
        message: `the manifest claims ${repo.url} but the verified build provenance names ${repo.attestedUrl ?? 'another repository'}`,
      };
    }
    if (rule.require === 'attested' && repo.status !== 'attested') {
      return { rule: 'repository', outcome: 'violation', message: `${repo.url} is only claimed by the manifest, not attested by a verified build provenance` };
    }
    if (rule.allowedHosts.length > 0) {
      const host = repositoryHost(repo.url);
      if (!host || !rule.allowedHosts.includes(host)) {
        return { rule: 'repository', outcome: 'violation', message: `repository ${repo.url} is not on an allowed host (${rule.allowedHosts.join(', ')})` };
      }
    }
    const at = repo.commit ? ` at ${repo.commit.slice(0, 12)}` : '';
    return { rule: 'repository', outcome: 'pass', message: `${repo.status} ${repo.url}${at}` };
  }

  private rebuildDecision(record: FeedRecord | undefined): RuleDecision {
    if (this.config.rules.rebuild.require === 'off') return { rule: 'rebuild', outcome: 'off', message: 'rule is off' };
    if (!record) return notInFeed('rebuild');
    const verdict = record.rebuild?.verdict;
    const by = record.rebuild?.source ? ` (${record.rebuild.source})` : '';
    if (verdict === 'reproducible') return { rule: 'rebuild', outcome: 'pass', message: `rebuilt from source and matched${by}` };
    if (verdict === 'not-reproducible') {
      return { rule: 'rebuild', outcome: 'violation', message: `the published tarball does not match a rebuild from its source${by}` };
    }
    return { rule: 'rebuild', outcome: 'missing', message: 'no rebuild verdict for this version' };
  }

  /** Source match: `diverged` always violates, `built` violates `require: match`, inconclusive is missing. */
  contentsDecision(record: FeedRecord | undefined): RuleDecision {
    const require = this.config.rules.contents.require;
    if (require === 'off') return { rule: 'contents', outcome: 'off', message: 'rule is off' };
    if (!record) return notInFeed('contents');
    const contents = record.contents;
    if (!contents) return { rule: 'contents', outcome: 'missing', message: 'no source match verdict for this version' };
    const at = contents.commit ? ` at ${contents.commit.slice(0, 12)}` : '';
    const why = contents.reason ? `: ${contents.reason}` : '';
    switch (contents.verdict) {
      case 'diverged':
        return { rule: 'contents', outcome: 'violation', message: `the published tarball diverges from its source${at}${why}` };
      case 'built':
        return require === 'match'
          ? { rule: 'contents', outcome: 'violation', message: `the tarball holds files absent from its source${at} (build output), but rules.contents requires match${why}` }
          : { rule: 'contents', outcome: 'pass', message: `built from its source${at}${why}` };
      case 'match':
        return { rule: 'contents', outcome: 'pass', message: `identical to its source${at}` };
      default:
        return { rule: 'contents', outcome: 'missing', message: `source match inconclusive${why}` };
    }
  }

  private scorecardDecisions(record: FeedRecord | undefined): RuleDecision[] {
    const rule = this.config.rules.scorecard;
    if (!rule) return [{ rule: 'scorecard', outcome: 'off', message: 'rule is off' }];
    if (!record) return [notInFeed('scorecard')];
    const card = record.scorecard;
    if (!card) return [{ rule: 'scorecard', outcome: 'missing', message: 'no OpenSSF Scorecard for the repository' }];
    const out: RuleDecision[] = [];
    if (rule.minScore !== undefined) {
      out.push(
        card.score < rule.minScore
          ? { rule: 'scorecard', outcome: 'violation', message: `OpenSSF Scorecard ${card.score} is below the minimum ${rule.minScore}` }
          : { rule: 'scorecard', outcome: 'pass', message: `OpenSSF Scorecard ${card.score} (minimum ${rule.minScore})` },
      );
    }
    for (const [check, min] of Object.entries(rule.checks)) {
      const score = card.checks?.[check];
      if (score === undefined || score < 0) {
        out.push({ rule: 'scorecard', outcome: 'missing', message: `Scorecard check ${check} has no result` });
      } else if (score < min) {
        out.push({ rule: 'scorecard', outcome: 'violation', message: `Scorecard check ${check} scores ${score}, below the minimum ${min}` });
      } else {
        out.push({ rule: 'scorecard', outcome: 'pass', message: `Scorecard check ${check} scores ${score} (minimum ${min})` });
      }
    }
    return out;
  }

  private severityOf(decision: RuleDecision): Severity | undefined {
    switch (decision.outcome) {
      case 'violation':
        return this.config.mode === 'block' ? 'block' : 'warn';
      case 'missing':
        return this.tristateSeverity(this.config.unknown);
      // Stryker disable next-line ConditionalExpression: emptying the last clause of a switch also returns undefined (equivalent)
      default:
        return undefined;
    }
  }

  /** allow → no finding; block → block only when the mode blocks (warn never fails an install). */
  private tristateSeverity(level: 'allow' | 'warn' | 'block'): Severity | undefined {
    if (level === 'allow') return undefined;
    return level === 'block' && this.config.mode === 'block' ? 'block' : 'warn';
  }
}

/**
 * The package's integrity bound to the record's. An adapter that compares the downloaded bytes
 * itself (Yarn's fetcher: yarn.lock has no npm integrity) sets `integrityCheckedOnFetch`.
 */
function integrityDecision(pkg: ResolvedPackage, expected: string): RuleDecision {
  if (pkg.integrityCheckedOnFetch === true && pkg.integrity === undefined) {
    return { rule: 'integrity', outcome: 'pass', message: "the downloaded tarball is compared with the feed's sha512 before it is used" };
  }
  const binding = bindIntegrity(pkg.integrity, expected);
  switch (binding.outcome) {
    case 'bound':
      return { rule: 'integrity', outcome: 'pass', message: 'integrity matches the feed record' };
    case 'mismatch':
      return { rule: 'integrity', outcome: 'violation', message: `integrity ${binding.actual} does not match the feed's ${binding.expected}: the tarball is not the one the evidence is about` };
    case 'unbound':
      return { rule: 'integrity', outcome: 'violation', message: `integrity cannot be bound to the feed's record: ${binding.reason}` };
  }
}

/** Why a package's name (or, from the registry, its version) cannot be a published one. */
export function identityProblem(pkg: ResolvedPackage): string | undefined {
  if (pkg.source === 'workspace') return undefined;
  const nameProblem = packageNameProblem(pkg.name);
  if (nameProblem) return nameProblem;
  // Exactly as a registry publishes it: `v1.0.0` or `=1.0.0` parse, but name another string than the one installed and looked up.
  if (pkg.source === 'registry' && !isSemver(pkg.version)) return `version ${JSON.stringify(pkg.version)} is not a valid semver version`;
  return undefined;
}

function notInFeed(rule: RuleName): RuleDecision {
  return { rule, outcome: 'missing', message: 'no evidence: this version is not in the verdict feed' };
}

/**
 * A non-registry source has no evidence of its own. A tarball URL that names a version the
 * feed knows must still be that version's bytes: its integrity is bound like a registry one's.
 */
function sourceDecisions(pkg: ResolvedPackage, record: FeedRecord | undefined): RuleDecision[] {
  const bound = pkg.source === 'tarball' && record?.integrity !== undefined ? [integrityDecision(pkg, record.integrity)] : [];
  return [...bound, sourceDecision(pkg)];
}

function sourceDecision(pkg: ResolvedPackage): RuleDecision {
  const from: Record<string, string> = {
    git: 'a git repository',
    tarball: 'a tarball URL',
    file: 'a local file',
    link: 'a link outside the workspace',
  };
  const where = pkg.resolved ? ` (${pkg.resolved})` : '';
  return {
    rule: 'source',
    outcome: 'missing',
    message: `installed from ${from[pkg.source] ?? pkg.source}${where}, not from the registry: no provenance evidence`,
  };
}

export function verdictOf(findings: readonly Finding[]): Verdict {
  if (findings.some((f) => f.severity === 'block')) return 'block';
  // A severity is 'block' or 'warn': with no block, any finding warns.
  return findings.length > 0 ? 'warn' : 'pass';
}
