/**
 * Every rule decision as `explain` prints it and every finding as `check` reports it: the exact
 * outcome and message per evidence case (SPEC "Verdicts"), so a wrong rule, a swapped outcome
 * or a message that no longer names the evidence fails here.
 */
import { describe, expect, test } from 'vitest';
import { validateConfig } from '../src/config/validate';
import type { Config } from '../src/config/types';
import { identityProblem, Policy, verdictOf, type RuleDecision } from '../src/policy/evaluate';
import { repositoryHost } from '../src/policy/repository-host';
import type { FeedRecord, ResolvedPackage } from '../src/types';

const NOW = new Date('2026-11-25T12:00:00Z');
const SHA_A = 'sha512-' + Buffer.alloc(64, 1).toString('base64');
const SHA_B = 'sha512-' + Buffer.alloc(64, 2).toString('base64');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function config(raw: Record<string, unknown>): Config {
  const { config, problems } = validateConfig({ feed: { publicKeys: ['k'] }, ...raw }, '/p');
  expect(problems).toEqual([]);
  return config;
}
const policy = (raw: Record<string, unknown>) => new Policy(config(raw), NOW);

const pkg = (over: Partial<ResolvedPackage> = {}): ResolvedPackage => ({ name: 'left-pad', version: '1.3.0', integrity: SHA_A, source: 'registry', ...over });
const record = (over: Partial<FeedRecord> = {}): FeedRecord => ({ name: 'left-pad', version: '1.3.0', integrity: SHA_A, ...over });

/** Only the one rule switched on (and integrity, which is always bound). */
const only = (rules: Record<string, unknown>, raw: Record<string, unknown> = {}) =>
  policy({ mode: 'block', unknown: 'warn', rules: { repository: 'off', rebuild: 'off', scorecard: 'off', contents: 'off', ...rules }, ...raw });
const decisionsOf = (p: Policy, r: FeedRecord | undefined, over: Partial<ResolvedPackage> = {}) => p.evaluate(pkg(over), r).decisions;
const decision = (rule: RuleDecision['rule'], outcome: RuleDecision['outcome'], message: string): RuleDecision => ({ rule, outcome, message });

const OFF = (rule: RuleDecision['rule']) => decision(rule, 'off', 'rule is off');
const INTEGRITY_OK = decision('integrity', 'pass', 'integrity matches the feed record');
const NOT_IN_FEED = 'no evidence: this version is not in the verdict feed';

describe('rules that are off say so, and a version absent from the feed is evidence missing for every rule', () => {
  test('all off', () => {
    expect(decisionsOf(only({}), record())).toEqual([INTEGRITY_OK, OFF('repository'), OFF('rebuild'), OFF('scorecard'), OFF('contents')]);
  });
  test('all on, no record', () => {
    const p = only({ repository: { require: 'claimed' }, rebuild: { require: 'reproducible' }, scorecard: { minScore: 5 }, contents: { require: 'built' } });
    const missing = (rule: RuleDecision['rule']) => decision(rule, 'missing', NOT_IN_FEED);
    expect(decisionsOf(p, undefined)).toEqual([missing('repository'), missing('rebuild'), missing('scorecard'), missing('contents')]);
    expect(p.evaluate(pkg(), undefined).findings).toEqual(['repository', 'rebuild', 'scorecard', 'contents'].map((rule) => ({ rule, severity: 'warn', message: NOT_IN_FEED })));
  });
});

describe('repository', () => {
  const claimed = only({ repository: { require: 'claimed' } });
  const repo = (r: FeedRecord['repository']) => decisionsOf(claimed, record({ repository: r }))[1];

  test('pass names the status, the URL and the short commit', () => {
    expect(repo({ url: 'https://github.com/a/b', status: 'attested', commit: COMMIT })).toEqual(decision('repository', 'pass', 'attested https://github.com/a/b at 0123456789ab'));
    expect(repo({ url: 'https://github.com/a/b', status: 'claimed' })).toEqual(decision('repository', 'pass', 'claimed https://github.com/a/b'));
  });
  test('no repository evidence is missing; status none or no URL is a violation', () => {
    expect(decisionsOf(claimed, record())[1]).toEqual(decision('repository', 'missing', 'no source repository is known for this version'));
    const none = decision('repository', 'violation', 'the package manifest names no source repository');
    expect(repo({ status: 'none' })).toEqual(none);
    expect(repo({ status: 'none', url: 'https://github.com/a/b' })).toEqual(none);
    expect(repo({ status: 'claimed' })).toEqual(none);
  });
  test('a mismatch names both repositories', () => {
    expect(repo({ url: 'https://github.com/a/b', status: 'mismatch', attestedUrl: 'https://github.com/evil/b' })).toEqual(
      decision('repository', 'violation', 'the manifest claims https://github.com/a/b but the verified build provenance names https://github.com/evil/b'),
    );
    expect(repo({ url: 'https://github.com/a/b', status: 'mismatch' })).toEqual(
      decision('repository', 'violation', 'the manifest claims https://github.com/a/b but the verified build provenance names another repository'),
    );
  });
  test('require attested: attested passes, claimed violates', () => {
    const attested = only({ repository: { require: 'attested' } });
    expect(decisionsOf(attested, record({ repository: { url: 'https://github.com/a/b', status: 'attested' } }))[1]).toEqual(decision('repository', 'pass', 'attested https://github.com/a/b'));
    expect(decisionsOf(attested, record({ repository: { url: 'https://github.com/a/b', status: 'claimed' } }))[1]).toEqual(
      decision('repository', 'violation', 'https://github.com/a/b is only claimed by the manifest, not attested by a verified build provenance'),
    );
  });
  test('allowedHosts lists every allowed host; a URL without a host fails closed', () => {
    const hosts = only({ repository: { require: 'claimed', allowedHosts: ['github.com', 'gitlab.com'] } });
    const of = (url: string) => decisionsOf(hosts, record({ repository: { url, status: 'claimed' } }))[1];
    expect(of('https://bitbucket.org/a/b')).toEqual(decision('repository', 'violation', 'repository https://bitbucket.org/a/b is not on an allowed host (github.com, gitlab.com)'));
    expect(of('not a url')).toEqual(decision('repository', 'violation', 'repository not a url is not on an allowed host (github.com, gitlab.com)'));
    expect(of('https://gitlab.com/a/b')).toEqual(decision('repository', 'pass', 'claimed https://gitlab.com/a/b'));
  });
});

describe('rebuild', () => {
  const p = only({ rebuild: { require: 'reproducible' } });
  const rebuild = (r: FeedRecord['rebuild']) => decisionsOf(p, record(r ? { rebuild: r } : {}))[2];
  test('each verdict, with the source that rebuilt it', () => {
    expect(rebuild({ verdict: 'reproducible', source: 'oss-rebuild' })).toEqual(decision('rebuild', 'pass', 'rebuilt from source and matched (oss-rebuild)'));
    expect(rebuild({ verdict: 'reproducible' })).toEqual(decision('rebuild', 'pass', 'rebuilt from source and matched'));
    expect(rebuild({ verdict: 'not-reproducible', source: 'oss-reproducible' })).toEqual(
      decision('rebuild', 'violation', 'the published tarball does not match a rebuild from its source (oss-reproducible)'),
    );
    expect(rebuild({ verdict: 'unknown' })).toEqual(decision('rebuild', 'missing', 'no rebuild verdict for this version'));
    expect(rebuild(undefined)).toEqual(decision('rebuild', 'missing', 'no rebuild verdict for this version'));
  });
});

describe('scorecard', () => {
  const card = (p: Policy, s: FeedRecord['scorecard']) => decisionsOf(p, record(s ? { scorecard: s } : {})).slice(3, -1); // between rebuild and contents
  test('no scorecard is evidence missing', () => {
    expect(card(only({ scorecard: { minScore: 5 } }), undefined)).toEqual([decision('scorecard', 'missing', 'no OpenSSF Scorecard for the repository')]);
  });
  test('the aggregate minimum: below violates, at or above passes, both naming score and minimum', () => {
    const p = only({ scorecard: { minScore: 5 } });
    expect(card(p, { score: 4.9 })).toEqual([decision('scorecard', 'violation', 'OpenSSF Scorecard 4.9 is below the minimum 5')]);
    expect(card(p, { score: 5 })).toEqual([decision('scorecard', 'pass', 'OpenSSF Scorecard 5 (minimum 5)')]);
  });
  test('checks only (no minScore): one decision per check, in order', () => {
    const p = only({ scorecard: { checks: { Maintained: 5, 'Dangerous-Workflow': 10, 'Code-Review': 3 } } });
    expect(card(p, { score: 1, checks: { Maintained: 6, 'Dangerous-Workflow': 9, 'Code-Review': -1 } })).toEqual([
      decision('scorecard', 'pass', 'Scorecard check Maintained scores 6 (minimum 5)'),
      decision('scorecard', 'violation', 'Scorecard check Dangerous-Workflow scores 9, below the minimum 10'),
      decision('scorecard', 'missing', 'Scorecard check Code-Review has no result'),
    ]);
    expect(card(p, { score: 1 })).toEqual(['Maintained', 'Dangerous-Workflow', 'Code-Review'].map((c) => decision('scorecard', 'missing', `Scorecard check ${c} has no result`)));
  });
});

describe('contents (source match)', () => {
  const contents = (require: string, c: FeedRecord['contents'] | undefined, present = true) =>
    decisionsOf(only({ contents: { require } }), present ? record(c ? { contents: c } : {}) : undefined).at(-1);
  test('off, not in the feed, no verdict', () => {
    expect(contents('off', { verdict: 'diverged' })).toEqual(OFF('contents'));
    expect(contents('built', undefined, false)).toEqual(decision('contents', 'missing', NOT_IN_FEED));
    expect(contents('built', undefined)).toEqual(decision('contents', 'missing', 'no source match verdict for this version'));
  });
  test('diverged violates under built and match, naming the short commit and the reason', () => {
    const diverged = decision('contents', 'violation', 'the published tarball diverges from its source at 0123456789ab: dist/x.js differs');
    expect(contents('built', { verdict: 'diverged', commit: COMMIT, reason: 'dist/x.js differs' })).toEqual(diverged);
    expect(contents('match', { verdict: 'diverged', commit: COMMIT, reason: 'dist/x.js differs' })).toEqual(diverged);
    expect(contents('built', { verdict: 'diverged' })).toEqual(decision('contents', 'violation', 'the published tarball diverges from its source'));
  });
  test('built passes require built and violates require match', () => {
    const c = { verdict: 'built', commit: COMMIT, reason: '3 generated files' } as const;
    expect(contents('built', c)).toEqual(decision('contents', 'pass', 'built from its source at 0123456789ab: 3 generated files'));
    expect(contents('match', c)).toEqual(
      decision('contents', 'violation', 'the tarball holds files absent from its source at 0123456789ab (build output), but rules.contents requires match: 3 generated files'),
    );
    expect(contents('built', { verdict: 'built' })).toEqual(decision('contents', 'pass', 'built from its source'));
  });
  test('match passes; inconclusive is evidence missing', () => {
    expect(contents('match', { verdict: 'match', commit: COMMIT })).toEqual(decision('contents', 'pass', 'identical to its source at 0123456789ab'));
    expect(contents('match', { verdict: 'match' })).toEqual(decision('contents', 'pass', 'identical to its source'));
    expect(contents('built', { verdict: 'inconclusive', reason: 'no tag for 1.3.0' })).toEqual(decision('contents', 'missing', 'source match inconclusive: no tag for 1.3.0'));
    expect(contents('built', { verdict: 'inconclusive' })).toEqual(decision('contents', 'missing', 'source match inconclusive'));
  });
  test('severities: diverged blocks under mode block, inconclusive follows unknown', () => {
    const p = only({ contents: { require: 'built' } }, { unknown: 'allow' });
    expect(p.evaluate(pkg(), record({ contents: { verdict: 'diverged' } })).findings).toEqual([{ rule: 'contents', severity: 'block', message: 'the published tarball diverges from its source' }]);
    expect(p.evaluate(pkg(), record({ contents: { verdict: 'inconclusive' } })).verdict).toBe('pass');
  });
});

describe('integrity decisions', () => {
  test('bound, checked on fetch, mismatch and unbound', () => {
    const p = only({});
    expect(decisionsOf(p, record())[0]).toEqual(INTEGRITY_OK);
    expect(decisionsOf(p, record(), { integrity: undefined, integrityCheckedOnFetch: true })[0]).toEqual(
      decision('integrity', 'pass', "the downloaded tarball is compared with the feed's sha512 before it is used"),
    );
    expect(decisionsOf(p, record(), { integrity: SHA_B })[0]).toEqual(
      decision('integrity', 'violation', `integrity ${SHA_B} does not match the feed's ${SHA_A}: the tarball is not the one the evidence is about`),
    );
    expect(decisionsOf(p, record(), { integrity: undefined })[0]).toEqual(decision('integrity', 'violation', "integrity cannot be bound to the feed's record: no integrity is recorded for it"));
  });
  test('a record without integrity binds nothing and says nothing about it', () => {
    expect(decisionsOf(only({}), record({ integrity: undefined }))).toEqual([OFF('repository'), OFF('rebuild'), OFF('scorecard'), OFF('contents')]);
  });
});

describe('non-registry sources', () => {
  const p = only({});
  test.each([
    ['git', 'a git repository'],
    ['tarball', 'a tarball URL'],
    ['file', 'a local file'],
    ['link', 'a link outside the workspace'],
  ] as const)('%s names where it came from', (source, where) => {
    expect(decisionsOf(p, undefined, { source, resolved: 'x:/y' })).toEqual([decision('source', 'missing', `installed from ${where} (x:/y), not from the registry: no provenance evidence`)]);
    expect(decisionsOf(p, undefined, { source })).toEqual([decision('source', 'missing', `installed from ${where}, not from the registry: no provenance evidence`)]);
  });
  test('only a tarball URL is bound to the record of the version it names; a git checkout is not', () => {
    const source = (s: ResolvedPackage['source']) => decision('source', 'missing', `installed from ${s === 'git' ? 'a git repository' : 'a tarball URL'}, not from the registry: no provenance evidence`);
    expect(decisionsOf(p, record(), { source: 'tarball' })).toEqual([INTEGRITY_OK, source('tarball')]);
    expect(decisionsOf(p, record(), { source: 'tarball', integrity: SHA_B })[0]!.outcome).toBe('violation');
    expect(decisionsOf(p, record(), { source: 'git', integrity: undefined })).toEqual([source('git')]);
  });
});

describe('identity: names and versions nobody could have published', () => {
  test('a malformed registry entry is one source violation, whatever the rules, severity from the mode', () => {
    const bad = pkg({ version: '1.0' });
    const message = 'version "1.0" is not a valid semver version: not a package from any registry';
    const block = only({}).evaluate(bad, undefined);
    expect(block).toMatchObject({ verdict: 'block', decisions: [decision('source', 'violation', message)], findings: [{ rule: 'source', severity: 'block', message }] });
    const warn = only({}, { mode: 'warn' }).evaluate(bad, undefined);
    expect(warn).toMatchObject({ verdict: 'warn', decisions: [decision('source', 'violation', message)], findings: [{ rule: 'source', severity: 'warn', message }] });
  });
  test('mode off checks nothing, not even identity', () => {
    const e = only({}, { mode: 'off' }).evaluate(pkg({ version: '1.0' }), undefined);
    expect(e).toMatchObject({ verdict: 'skip', findings: [], decisions: [] });
  });
  test.each([' 1.0.0', '1.0.0 ', '=1.0.0', '1.0', '1.0.0\n', 'v1.0.0', 'V1.0.0', '01.0.0'])('registry version %j is refused', (version) => {
    expect(identityProblem(pkg({ version }))).toBe(`version ${JSON.stringify(version)} is not a valid semver version`);
  });
  test('a valid version passes; only a registry version must be semver; a workspace package is never judged', () => {
    expect(identityProblem(pkg({ version: '1.0.0-beta.1+build.5' }))).toBeUndefined();
    expect(identityProblem(pkg({ source: 'git', version: 'github.com/a/b#0123abc' }))).toBeUndefined();
    expect(identityProblem(pkg({ source: 'workspace', name: 'My App', version: '' }))).toBeUndefined();
    expect(identityProblem(pkg({ source: 'git', name: 'My App' }))).toContain('My App');
  });
});

describe('evaluation fields', () => {
  test('an excluded package: skip, nothing decided, the pattern named, the record kept', () => {
    const e = policy({ mode: 'block', exclude: ['left-*'] }).evaluate(pkg(), record());
    expect(e).toStrictEqual({
      name: 'left-pad',
      version: '1.3.0',
      verdict: 'skip',
      findings: [],
      decisions: [],
      waived: [],
      appliedOverrides: [],
      expiredOverrides: [],
      record: record(),
      excludedBy: 'left-*',
    });
  });
  test('no record: the evaluation has no record field', () => {
    expect(Object.keys(only({}).evaluate(pkg(), undefined))).not.toContain('record');
  });
  test('an override whose package is not a pattern (config not validated) never applies', () => {
    const c = config({ mode: 'block', rules: { repository: 'off', rebuild: 'off', scorecard: { minScore: 9 } } });
    const p = new Policy({ ...c, overrides: [{ package: '@@', rules: 'all', reason: 'r', expires: '2099-01-01' }] }, NOW);
    expect(p.evaluate(pkg(), record({ scorecard: { score: 1 } }))).toMatchObject({ verdict: 'block', appliedOverrides: [], waived: [] });
  });
  test('an expired override is a warning naming it, its expiry and its reason', () => {
    const p = only({ scorecard: { minScore: 9 } }, { overrides: [{ package: 'left-pad', rules: ['scorecard'], reason: 'vendored fork', expires: '2026-11-01' }] });
    expect(p.evaluate(pkg(), record({ scorecard: { score: 9 } })).findings).toEqual([
      { rule: 'override', severity: 'warn', message: 'override "left-pad" expired on 2026-11-01 and no longer applies (reason was: vendored fork)' },
    ]);
  });
});

describe('feed staleness', () => {
  const stale = (onStale: string, generatedAt?: string) =>
    only({}, { feed: { publicKeys: ['k'], onStale } }).evaluate(pkg(), record(), { stale: true, ...(generatedAt ? { generatedAt } : {}) }).findings;
  test('the finding names when the feed was generated', () => {
    expect(stale('warn', '2026-01-01T00:00:00Z')).toEqual([{ rule: 'feed', severity: 'warn', message: 'the verdict feed is stale (generated 2026-01-01T00:00:00Z, older than feed.maxAge)' }]);
    expect(stale('block')).toEqual([{ rule: 'feed', severity: 'block', message: 'the verdict feed is stale (generated at an unknown time, older than feed.maxAge)' }]);
  });
  test('onStale allow adds no finding at all', () => {
    expect(stale('allow', '2026-01-01T00:00:00Z')).toEqual([]);
  });
});

test('verdictOf: block beats warn beats pass', () => {
  expect(verdictOf([])).toBe('pass');
  expect(verdictOf([{ rule: 'feed', severity: 'warn', message: '' }])).toBe('warn');
  expect(verdictOf([{ rule: 'feed', severity: 'warn', message: '' }, { rule: 'source', severity: 'block', message: '' }])).toBe('block');
});

test('repositoryHost strips only a leading git+ (a non-special scheme keeps a + in its host)', () => {
  expect(repositoryHost('ssh://build.git+mirror.example/a/b')).toBe('build.git+mirror.example');
  expect(repositoryHost('GIT+ssh://build.git+mirror.example/a/b')).toBe('build.git+mirror.example');
});

describe('repositoryHost: scp-like URLs of hosts hosted-git-info does not know', () => {
  test.each([
    ['git@example.org:team/repo.git', 'example.org'],
    ['deploy@Git.Example.ORG:team/repo.git', 'git.example.org'],
    ['example.org:team/repo', 'example.org'],
    ['git-user.1@my-host.example-tld:x', 'my-host.example-tld'],
  ])('%s → %s', (url, host) => {
    expect(repositoryHost(url)).toBe(host);
  });
  test.each([
    ['see git@example.org:team/repo', 'text before the user'],
    ['git@example:team/repo', 'a host without a dot'],
    ['git@example.org://team/repo', 'a scheme-less URL'],
    [' https://gitlab.example/a/b', 'a URL that does not start at the first character'],
  ])('%s → undefined (%s): fails closed on allowedHosts', (url) => {
    expect(repositoryHost(url)).toBeUndefined();
  });
});
