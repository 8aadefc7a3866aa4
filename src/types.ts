/**
 * The shared vocabulary of the pipeline:
 * config → lockfile/resolution → evidence lookup → policy → report.
 */

/** Where a resolved dependency comes from. */
export type SourceKind = 'registry' | 'git' | 'tarball' | 'file' | 'link' | 'workspace';

/** One dependency as a lockfile or a package manager resolved it. */
export interface ResolvedPackage {
  /** The real package name (for an `npm:` alias, the aliased package, not the alias). */
  name: string;
  version: string;
  /** Subresource-integrity string (`sha512-…`) when the lockfile or registry gives one. */
  integrity?: string;
  source: SourceKind;
  /** URL, path or git reference for non-registry sources. */
  resolved?: string;
  /** The name the package was installed under when it is an `npm:` alias. */
  alias?: string;
  /**
   * The adapter compares the downloaded bytes with the feed's sha512 itself before the package
   * is used (Yarn's fetcher: yarn.lock carries no npm integrity), so `integrity` may be absent.
   */
  integrityCheckedOnFetch?: boolean;
  /** The dependency path that brought it in, from a direct dependency of a project down to its parent. */
  via?: string[];
}

/** `none`: the manifest was read and names no repository (known to have no mapping; absent = unknown). */
export type RepositoryStatus = 'claimed' | 'attested' | 'mismatch' | 'none';
export type RebuildVerdict = 'reproducible' | 'not-reproducible' | 'unknown';

export interface RepositoryEvidence {
  /** Absent only for status `none`. */
  url?: string;
  commit?: string;
  status: RepositoryStatus;
  /** For `mismatch`: the repository named by the verified provenance. */
  attestedUrl?: string;
  directory?: string;
}

export interface RebuildEvidence {
  verdict: RebuildVerdict;
  source?: string;
}

/** Source match (SPEC "Source match"): the tarball compared file by file with its source at a commit. */
export type ContentsVerdict = 'match' | 'built' | 'diverged' | 'inconclusive';

export interface ContentsEvidence {
  verdict: ContentsVerdict;
  commit?: string;
  /** How the commit was found: `gitHead`, `tag:<tag>`, … */
  commitFrom?: string;
  files?: { identical: number; generated: number; modified: string[]; added: string[] };
  reason?: string;
}

export interface ScorecardEvidence {
  score: number;
  date?: string;
  /** Per-check scores; -1 means the check could not run (inconclusive). */
  checks?: Record<string, number>;
}

/** One feed record: the evidence for one package version (SPEC "Feed records"). */
export interface FeedRecord {
  name: string;
  version: string;
  integrity?: string;
  repository?: RepositoryEvidence;
  rebuild?: RebuildEvidence;
  scorecard?: ScorecardEvidence;
  contents?: ContentsEvidence;
  [extra: string]: unknown;
}

export type Mode = 'block' | 'warn' | 'off';
export type Tristate = 'allow' | 'warn' | 'block';
export type Severity = 'block' | 'warn';
export type RuleName = 'repository' | 'rebuild' | 'scorecard' | 'contents' | 'integrity' | 'source' | 'feed' | 'override';
/** Rules an override may waive (`all` = every one of these). Integrity is never waivable. */
export type WaivableRule = 'repository' | 'rebuild' | 'scorecard' | 'contents' | 'source';
export const WAIVABLE_RULES: readonly WaivableRule[] = ['repository', 'rebuild', 'scorecard', 'contents', 'source'];

export function isWaivableRule(rule: string): rule is WaivableRule {
  return (WAIVABLE_RULES as readonly string[]).includes(rule);
}
export type Verdict = 'pass' | 'warn' | 'block' | 'skip';

export interface Finding {
  rule: RuleName;
  severity: Severity;
  message: string;
}

export interface PackageResult {
  name: string;
  version: string;
  verdict: Verdict;
  findings: Finding[];
  /** The name the user wrote when it is an `npm:` alias. */
  alias?: string;
  /** The dependency path that brought it in (direct dependency first), when known. */
  via?: string[];
}

export interface ReportSummary {
  packages: number;
  pass: number;
  warn: number;
  block: number;
  skip: number;
}

export interface Report {
  summary: ReportSummary;
  packages: PackageResult[];
}
