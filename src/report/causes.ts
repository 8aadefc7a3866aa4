/**
 * Findings grouped by what caused them, so a report says "225 packages: no OpenSSF Scorecard in
 * the feed" once, with the one setting that changes it, instead of 225 similar lines.
 */
import type { Finding, PackageResult, Severity } from '../types';

export interface Cause {
  /** Stable key of the cause (tests and grouping). */
  key: string;
  /** What is wrong, in a few words. */
  title: string;
  /** The setting or step that resolves it for every package of the group. */
  hint: string;
}

interface CausePattern extends Cause {
  rule: Finding['rule'];
  match: RegExp;
}

const UNKNOWN_ALLOW = 'or `unknown: allow`';

const PATTERNS: CausePattern[] = [
  {
    rule: 'repository', match: /not in the verdict feed/, key: 'not-in-feed', title: 'not in the verdict feed (new since the feed was built?)',
    hint: 'add them with `provenance-guard feed update` (README: "Keeping the feed up to date") ' + UNKNOWN_ALLOW,
  },
  { rule: 'rebuild', match: /not in the verdict feed/, key: 'not-in-feed', title: '', hint: '' },
  { rule: 'scorecard', match: /not in the verdict feed/, key: 'not-in-feed', title: '', hint: '' },
  { rule: 'contents', match: /not in the verdict feed/, key: 'not-in-feed', title: '', hint: '' },
  { rule: 'scorecard', match: /no OpenSSF Scorecard|has no result/, key: 'no-scorecard', title: 'no OpenSSF Scorecard in the feed', hint: 'set `rules.scorecard: off` ' + UNKNOWN_ALLOW },
  { rule: 'scorecard', match: /below the minimum/, key: 'low-scorecard', title: 'OpenSSF Scorecard below the minimum', hint: 'lower `rules.scorecard.minScore`/`checks`, or an override per package' },
  { rule: 'rebuild', match: /no rebuild verdict/, key: 'no-rebuild', title: 'no rebuild verdict in the feed', hint: 'set `rules.rebuild: { require: off }` ' + UNKNOWN_ALLOW },
  { rule: 'rebuild', match: /does not match a rebuild/, key: 'not-reproducible', title: 'the tarball does not match a rebuild from source', hint: 'review the package; an override per package accepts it' },
  { rule: 'repository', match: /no source repository is known/, key: 'no-repository-evidence', title: 'no repository evidence in the feed', hint: 'set `rules.repository: { require: off }` ' + UNKNOWN_ALLOW },
  { rule: 'repository', match: /names no source repository/, key: 'no-repository', title: 'the manifest names no source repository', hint: 'an override per package, or `rules.repository: { require: off }`' },
  { rule: 'repository', match: /verified build provenance names/, key: 'repository-mismatch', title: 'claimed repository differs from the attested one', hint: 'review the package: this is what a hijacked package looks like' },
  { rule: 'repository', match: /only claimed/, key: 'not-attested', title: 'repository only claimed, not attested', hint: 'set `rules.repository.require: claimed`, or an override per package' },
  { rule: 'repository', match: /not on an allowed host/, key: 'host-not-allowed', title: 'repository not on an allowed host', hint: 'add the host to `rules.repository.allowedHosts`' },
  {
    rule: 'contents', match: /^(no source match verdict|source match inconclusive)/, key: 'no-contents', title: 'no source match verdict in the feed',
    hint: 'gather one with `feed build --verify-source`, or set `rules.contents: { require: off }` ' + UNKNOWN_ALLOW,
  },
  { rule: 'contents', match: /^the tarball holds files absent from its source/, key: 'contents-built', title: 'the tarball holds build output (rules.contents requires match)', hint: 'set `rules.contents: { require: built }`, or an override per package' },
  { rule: 'contents', match: /./, key: 'contents', title: 'published contents differ from the source', hint: 'run `provenance-guard verify NAME@VERSION` for the files' },
  { rule: 'integrity', match: /./, key: 'integrity', title: 'integrity not bound to the feed record', hint: 'cannot be waived: the tarball is not the one the evidence is about' },
  { rule: 'source', match: /./, key: 'source', title: 'installed from outside the registry (git, tarball URL, file:)', hint: 'add to `exclude` if it is yours, or an override per package' },
  { rule: 'feed', match: /stale/, key: 'feed-stale', title: 'the verdict feed is stale', hint: 'publish a fresh feed (`feed update`), or raise `feed.maxAge`' },
  { rule: 'override', match: /expired/, key: 'override-expired', title: 'an override expired', hint: 'renew or remove the `overrides:` entry' },
];

/** The cause of one finding: a known one, or the rule and message as they are. */
export function causeOf(finding: Finding): Cause {
  const hit = PATTERNS.find((p) => p.rule === finding.rule && p.match.test(finding.message));
  if (hit?.key === 'not-in-feed') return PATTERNS[0]!;
  if (hit) return { key: hit.key, title: hit.title, hint: hit.hint };
  return { key: `${finding.rule}:${finding.message}`, title: `${finding.rule}: ${finding.message}`, hint: '' };
}

export interface CauseGroup {
  cause: Cause;
  severity: Severity;
  /** Packages with at least one finding of this cause and severity. */
  packages: PackageResult[];
}

/** One group per cause and severity, blocking ones first, then the largest. */
export function groupByCause(packages: readonly PackageResult[]): CauseGroup[] {
  const groups = new Map<string, CauseGroup>();
  for (const pkg of packages) {
    const seen = new Set<string>();
    for (const finding of pkg.findings) {
      const cause = causeOf(finding);
      const id = `${finding.severity}\u0000${cause.key}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const group = groups.get(id) ?? { cause, severity: finding.severity, packages: [] };
      group.packages.push(pkg);
      groups.set(id, group);
    }
  }
  return [...groups.values()].sort((a, b) => rank(a) - rank(b) || b.packages.length - a.packages.length);
}

function rank(group: CauseGroup): number {
  return group.severity === 'block' ? 0 : 1;
}

/** Whether the feed has no record for this package at all (new since it was built). */
export function isNotInFeed(pkg: PackageResult): boolean {
  return pkg.findings.some((f) => causeOf(f).key === 'not-in-feed');
}
