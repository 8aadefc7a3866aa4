import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { validateConfig } from '../src/config/validate';
import { Policy } from '../src/policy/evaluate';
import { repositoryHost } from '../src/policy/repository-host';
import { buildReport, exitCodeOf } from '../src/report/build';
import type { FeedRecord, ResolvedPackage } from '../src/types';

const NOW = new Date('2026-11-25T12:00:00Z');
const SHA_A = 'sha512-' + Buffer.alloc(64, 1).toString('base64');
const SHA_B = 'sha512-' + Buffer.alloc(64, 2).toString('base64');

function policy(raw: Record<string, unknown>): Policy {
  const { config, problems } = validateConfig({ feed: { publicKeys: ['k'] }, ...raw }, '/p');
  expect(problems).toEqual([]);
  return new Policy(config, NOW);
}

const pkg = (over: Partial<ResolvedPackage> = {}): ResolvedPackage => ({ name: 'left-pad', version: '1.3.0', integrity: SHA_A, source: 'registry', ...over });

const good: FeedRecord = {
  name: 'left-pad',
  version: '1.3.0',
  integrity: SHA_A,
  repository: { url: 'https://github.com/stevemao/left-pad', commit: 'a'.repeat(40), status: 'attested' },
  rebuild: { verdict: 'reproducible', source: 'oss-rebuild' },
  scorecard: { score: 7.5, date: '2026-11-01', checks: { Maintained: 5, 'Dangerous-Workflow': 10 } },
};

const strict = {
  mode: 'block',
  rules: {
    repository: { require: 'claimed', allowedHosts: ['github.com'] },
    rebuild: { require: 'reproducible' },
    scorecard: { minScore: 5, checks: { 'Dangerous-Workflow': 10 } },
  },
};

const rulesOf = (e: { findings: { rule: string }[] }) => e.findings.map((f) => f.rule);

describe('repository rule', () => {
  test('claimed and attested pass `require: claimed`', () => {
    const p = policy(strict);
    expect(p.evaluate(pkg(), good).verdict).toBe('pass');
    expect(p.evaluate(pkg(), { ...good, repository: { ...good.repository!, status: 'claimed' } }).verdict).toBe('pass');
  });

  test('`require: attested` blocks a merely claimed repository', () => {
    const p = policy({ ...strict, rules: { ...strict.rules, repository: { require: 'attested' } } });
    const e = p.evaluate(pkg(), { ...good, repository: { ...good.repository!, status: 'claimed' } });
    expect(e.verdict).toBe('block');
    expect(e.findings).toEqual([{ rule: 'repository', severity: 'block', message: expect.stringContaining('only claimed') }]);
  });

  test('a mismatch violates whenever the rule is on, even `require: claimed`', () => {
    const p = policy(strict);
    const e = p.evaluate(pkg(), { ...good, repository: { url: 'https://github.com/a/b', status: 'mismatch', attestedUrl: 'https://github.com/evil/b' } });
    expect(e.verdict).toBe('block');
    expect(e.findings[0]!.message).toContain('https://github.com/evil/b');
  });

  test('a mismatch passes when the rule is off', () => {
    const p = policy({ ...strict, rules: { ...strict.rules, repository: 'off' } });
    expect(p.evaluate(pkg(), { ...good, repository: { url: 'https://github.com/a/b', status: 'mismatch' } }).verdict).toBe('pass');
  });

  test('allowedHosts', () => {
    const p = policy(strict);
    const e = p.evaluate(pkg(), { ...good, repository: { url: 'git+ssh://git@bitbucket.org/a/b.git', status: 'claimed' } });
    expect(e.verdict).toBe('block');
    expect(e.findings[0]!.message).toContain('not on an allowed host');
    expect(p.evaluate(pkg(), { ...good, repository: { url: 'git+https://github.com/a/b.git', status: 'claimed' } }).verdict).toBe('pass');
  });

  test('no repository is evidence missing (unknown)', () => {
    const p = policy({ ...strict, unknown: 'block' });
    const { repository: _r, ...rest } = good;
    const e = p.evaluate(pkg(), rest);
    expect(e.findings).toEqual([{ rule: 'repository', severity: 'block', message: expect.stringContaining('no source repository') }]);
  });
});

describe('rebuild rule', () => {
  test('not-reproducible violates; unknown is evidence missing', () => {
    const p = policy({ ...strict, unknown: 'warn' });
    expect(p.evaluate(pkg(), { ...good, rebuild: { verdict: 'not-reproducible' } }).findings).toEqual([
      { rule: 'rebuild', severity: 'block', message: expect.stringContaining('does not match') },
    ]);
    expect(p.evaluate(pkg(), { ...good, rebuild: { verdict: 'unknown' } }).findings).toEqual([
      { rule: 'rebuild', severity: 'warn', message: expect.stringContaining('no rebuild verdict') },
    ]);
    const { rebuild: _x, ...noRebuild } = good;
    expect(rulesOf(p.evaluate(pkg(), noRebuild))).toEqual(['rebuild']);
  });
});

describe('scorecard rule', () => {
  test('aggregate minimum and per-check minima', () => {
    const p = policy(strict);
    expect(p.evaluate(pkg(), { ...good, scorecard: { score: 4.1, checks: { 'Dangerous-Workflow': 10 } } }).findings[0]!.message).toContain('4.1 is below the minimum 5');
    const e = p.evaluate(pkg(), { ...good, scorecard: { score: 9, checks: { 'Dangerous-Workflow': 0 } } });
    expect(e.findings).toEqual([{ rule: 'scorecard', severity: 'block', message: expect.stringContaining('Dangerous-Workflow scores 0') }]);
  });

  test('an inconclusive (-1) or absent check is evidence missing', () => {
    const p = policy({ ...strict, unknown: 'warn' });
    expect(p.evaluate(pkg(), { ...good, scorecard: { score: 9, checks: { 'Dangerous-Workflow': -1 } } }).findings).toEqual([
      { rule: 'scorecard', severity: 'warn', message: expect.stringContaining('no result') },
    ]);
    expect(p.evaluate(pkg(), { ...good, scorecard: { score: 9 } }).verdict).toBe('warn');
  });

  test('off disables it', () => {
    const p = policy({ ...strict, rules: { ...strict.rules, scorecard: 'off' } });
    expect(p.evaluate(pkg(), { ...good, scorecard: { score: 0 } }).verdict).toBe('pass');
  });
});

describe('modes and unknown', () => {
  const missingCases = [
    ['allow', 'block', 'pass'],
    ['warn', 'block', 'warn'],
    ['block', 'block', 'block'],
    ['allow', 'warn', 'pass'],
    ['warn', 'warn', 'warn'],
    ['block', 'warn', 'warn'],
  ] as const;
  test.each(missingCases)('not in feed with unknown=%s, mode=%s → %s', (unknown, mode, verdict) => {
    const p = policy({ ...strict, mode, unknown });
    const e = p.evaluate(pkg(), undefined);
    expect(e.verdict).toBe(verdict);
    if (verdict !== 'pass') expect(rulesOf(e)).toEqual(['repository', 'rebuild', 'scorecard']);
  });

  test('a violation is block under block, warn under warn', () => {
    const bad = { ...good, scorecard: { score: 1, checks: { 'Dangerous-Workflow': 10 } } };
    expect(policy({ ...strict, mode: 'block' }).evaluate(pkg(), bad).findings[0]!.severity).toBe('block');
    expect(policy({ ...strict, mode: 'warn' }).evaluate(pkg(), bad).findings[0]!.severity).toBe('warn');
  });

  test('mode off skips everything', () => {
    const e = policy({ ...strict, mode: 'off' }).evaluate(pkg(), undefined);
    expect(e.verdict).toBe('skip');
    expect(e.findings).toEqual([]);
  });
});

describe('integrity', () => {
  test('a mismatch is the strongest severity the mode allows, even with unknown: allow and an all-rules override', () => {
    const raw = { ...strict, unknown: 'allow', overrides: [{ package: 'left-pad', rules: ['all'], reason: 'r', expires: '2099-01-01' }] };
    const e = policy(raw).evaluate(pkg({ integrity: SHA_B }), good);
    expect(e.findings).toEqual([{ rule: 'integrity', severity: 'block', message: expect.stringContaining('does not match') }]);
    expect(policy({ ...raw, mode: 'warn' }).evaluate(pkg({ integrity: SHA_B }), good).findings[0]!.severity).toBe('warn');
  });

  test.each([
    ['only sha1 (of another tarball)', 'sha1-' + Buffer.alloc(20, 3).toString('base64'), 'no sha512'],
    ['malformed', 'sha512-not base64!', 'not a valid SRI'],
    ['a sha512 of the wrong length', 'sha512-' + Buffer.alloc(20, 3).toString('base64'), 'not a valid SRI'],
    ['empty', '', 'no integrity'],
  ])('an integrity that is %s cannot be bound: rule integrity, never a pass', (_what, integrity, reason) => {
    const e = policy({ ...strict, unknown: 'allow' }).evaluate(pkg({ integrity }), good);
    expect(e.verdict).toBe('block');
    expect(e.findings).toEqual([{ rule: 'integrity', severity: 'block', message: expect.stringContaining(reason) }]);
  });

  test('a missing integrity cannot be bound either', () => {
    const { integrity: _i, ...noIntegrity } = pkg();
    const e = policy(strict).evaluate(noIntegrity as ResolvedPackage, good);
    expect(e.findings.map((f) => [f.rule, f.severity])).toEqual([['integrity', 'block']]);
  });

  test('an adapter that compares the downloaded bytes itself needs no integrity up front', () => {
    const { integrity: _i, ...noIntegrity } = pkg();
    expect(policy(strict).evaluate({ ...(noIntegrity as ResolvedPackage), integrityCheckedOnFetch: true }, good).verdict).toBe('pass');
    // …but an integrity it does carry is still compared.
    expect(policy(strict).evaluate({ ...pkg({ integrity: SHA_B }), integrityCheckedOnFetch: true }, good).verdict).toBe('block');
  });

  test('a record without sha512 binds nothing: rule integrity', () => {
    const weak = { ...good, integrity: 'sha1-' + Buffer.alloc(20, 3).toString('base64') };
    expect(policy(strict).evaluate(pkg(), weak).findings.map((f) => f.rule)).toEqual(['integrity']);
  });

  test('a second, different sha512 beside the right one is refused (the package manager accepts either)', () => {
    const p = policy(strict);
    expect(p.evaluate(pkg({ integrity: `${SHA_B} ${SHA_A}` }), good).verdict).toBe('block');
    expect(p.evaluate(pkg({ integrity: `${SHA_A} ${SHA_A}?opt` }), good).verdict).toBe('pass');
    expect(p.evaluate(pkg({ integrity: `${SHA_A} sha1-${Buffer.alloc(20, 9).toString('base64')}` }), good).verdict).toBe('pass');
  });
});

describe('non-registry sources', () => {
  test.each(['git', 'tarball', 'file', 'link'] as const)('%s is rule `source`, severity from unknown', (source) => {
    const e = policy({ ...strict, unknown: 'block' }).evaluate(pkg({ source, resolved: 'x' }), good);
    expect(e.findings).toEqual([{ rule: 'source', severity: 'block', message: expect.stringContaining('not from the registry') }]);
    expect(policy({ ...strict, unknown: 'allow' }).evaluate(pkg({ source }), undefined).verdict).toBe('pass');
  });

  test('an excluded git dependency is skipped', () => {
    expect(policy({ ...strict, unknown: 'block', exclude: ['left-pad'] }).evaluate(pkg({ source: 'git' }), undefined).verdict).toBe('skip');
  });
});

describe('exclude', () => {
  test.each([
    ['left-pad', true],
    ['left-*', true],
    ['left-pad@^1.3.0', true],
    ['left-pad@>=2', false],
    ['@acme/*', false],
  ])('%s → excluded: %s', (pattern, excluded) => {
    const e = policy({ ...strict, exclude: [pattern] }).evaluate(pkg(), undefined);
    expect(e.verdict === 'skip').toBe(excluded);
  });

  test('@scope/* matches scoped packages only of that scope', () => {
    const p = policy({ ...strict, exclude: ['@acme/*'] });
    expect(p.evaluate(pkg({ name: '@acme/ui' }), undefined).verdict).toBe('skip');
    expect(p.evaluate(pkg({ name: '@acmex/ui' }), undefined).verdict).toBe('warn');
  });
});

describe('overrides', () => {
  const bad = { ...good, scorecard: { score: 1, checks: { 'Dangerous-Workflow': 10 } } };
  const override = (o: Record<string, unknown>) => policy({ ...strict, overrides: [{ package: 'left-pad@^1.3.0', rules: ['scorecard'], reason: 'reviewed', expires: '2027-03-31', ...o }] });

  test('an unexpired override waives its rules only', () => {
    const e = override({}).evaluate(pkg(), { ...bad, rebuild: { verdict: 'not-reproducible' } });
    expect(rulesOf(e)).toEqual(['rebuild']);
    expect(e.waived.map((f) => f.rule)).toEqual(['scorecard']);
    expect(e.appliedOverrides).toHaveLength(1);
  });

  test('[all] waives repository, rebuild, scorecard and source', () => {
    expect(override({ rules: ['all'] }).evaluate(pkg(), undefined).verdict).toBe('pass');
    expect(override({ rules: ['all'] }).evaluate(pkg({ source: 'git' }), undefined).verdict).toBe('pass');
  });

  test('applies through its expiry day, then stops applying and is reported', () => {
    expect(override({ expires: '2026-11-25' }).evaluate(pkg(), bad).verdict).toBe('pass');
    const e = override({ expires: '2026-11-24' }).evaluate(pkg(), bad);
    expect(e.verdict).toBe('block');
    expect(rulesOf(e).sort()).toEqual(['override', 'scorecard']);
    expect(e.findings.find((f) => f.rule === 'override')!.message).toContain('expired on 2026-11-24');
    expect(e.expiredOverrides).toHaveLength(1);
  });

  test('an override for another version range does not apply', () => {
    expect(override({ package: 'left-pad@^2' }).evaluate(pkg(), bad).verdict).toBe('block');
  });
});

describe('feed staleness', () => {
  test.each([
    ['allow', 'pass'],
    ['warn', 'warn'],
    ['block', 'block'],
  ] as const)('onStale %s → %s', (onStale, verdict) => {
    const p = policy({ ...strict, feed: { publicKeys: ['k'], onStale } });
    const e = p.evaluate(pkg(), good, { stale: true, generatedAt: '2026-01-01T00:00:00Z' });
    expect(e.verdict).toBe(verdict);
    if (verdict !== 'pass') expect(rulesOf(e)).toEqual(['feed']);
  });
});

describe('properties', () => {
  const severity = fc.constantFrom('allow', 'warn', 'block');
  const rawPolicy = fc.record({
    mode: fc.constantFrom('block', 'warn', 'off'),
    unknown: severity,
    feed: fc.record({ publicKeys: fc.constant(['k']), onStale: severity }),
    rules: fc.record({
      repository: fc.oneof(fc.constant('off'), fc.record({ require: fc.constantFrom('claimed', 'attested', 'off'), allowedHosts: fc.subarray(['github.com', 'gitlab.com']) })),
      rebuild: fc.record({ require: fc.constantFrom('reproducible', 'off') }),
      scorecard: fc.oneof(fc.constant('off'), fc.record({ minScore: fc.integer({ min: 0, max: 10 }), checks: fc.dictionary(fc.constantFrom('Maintained', 'Dangerous-Workflow', 'Binary-Artifacts'), fc.integer({ min: 0, max: 10 })) })),
    }),
    exclude: fc.subarray(['left-pad', 'pkg-*', '@scope/*', 'other@^1']),
    overrides: fc.array(
      fc.record({
        package: fc.constantFrom('left-pad', 'pkg-a@^1', '@scope/*'),
        rules: fc.oneof(fc.constant(['all']), fc.subarray(['repository', 'rebuild', 'scorecard', 'source'], { minLength: 1 })),
        reason: fc.constant('because'),
        expires: fc.constantFrom('2020-01-01', '2099-12-31'),
      }),
      { maxLength: 3 },
    ),
  });
  const record = (name: string, version: string) =>
    fc.option(
      fc.record(
        {
          name: fc.constant(name),
          version: fc.constant(version),
          integrity: fc.constantFrom(SHA_A, SHA_B),
          repository: fc.record({ url: fc.constantFrom('https://github.com/a/b', 'https://example.org/x.git', 'github:a/b'), status: fc.constantFrom('claimed', 'attested', 'mismatch') }),
          rebuild: fc.record({ verdict: fc.constantFrom('reproducible', 'not-reproducible', 'unknown') }),
          scorecard: fc.record({ score: fc.double({ min: 0, max: 10, noNaN: true }), checks: fc.dictionary(fc.constantFrom('Maintained', 'Dangerous-Workflow'), fc.integer({ min: -1, max: 10 })) }),
        },
        { requiredKeys: ['name', 'version'] },
      ),
      { nil: undefined },
    );
  const packageArb = fc
    .record({
      name: fc.constantFrom('left-pad', 'pkg-a', '@scope/x', 'other'),
      version: fc.constantFrom('1.0.0', '1.3.0', '2.0.0-beta.1'),
      integrity: fc.option(fc.constantFrom(SHA_A, SHA_B), { nil: undefined }),
      source: fc.constantFrom('registry', 'git', 'tarball', 'file', 'link'),
    })
    .chain((p) => fc.tuple(fc.constant(p as ResolvedPackage), record(p.name, p.version)));

  test('random policies never crash, and warn mode never blocks (exit code 0)', () => {
    fc.assert(
      fc.property(rawPolicy, fc.array(packageArb, { maxLength: 8 }), fc.boolean(), (raw, entries, stale) => {
        const { config, problems } = validateConfig(raw, '/p');
        expect(problems).toEqual([]);
        const p = new Policy(config, NOW);
        const results = entries.map(([pk, rec]) => p.evaluate(pk, rec as FeedRecord | undefined, { stale }));
        const report = buildReport(results);
        expect(report.summary.packages).toBe(entries.length);
        for (const r of results) {
          if (r.findings.some((f) => f.severity === 'block')) expect(r.verdict).toBe('block');
          if (config.mode === 'off') expect(r.verdict).toBe('skip');
        }
        if (config.mode !== 'block') expect(exitCodeOf(report)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('repositoryHost', () => {
  test.each([
    ['https://github.com/a/b', 'github.com'],
    ['git+https://GitHub.com/a/b.git', 'github.com'],
    ['git+ssh://git@gitlab.com/a/b.git', 'gitlab.com'],
    ['git@bitbucket.org:a/b.git', 'bitbucket.org'],
    ['github:a/b', 'github.com'],
    ['a/b', 'github.com'],
    ['ssh://git@example.org:2222/x.git', 'example.org'],
    ['not a url', undefined],
  ])('%s → %s', (url, host) => {
    expect(repositoryHost(url)).toBe(host);
  });
});
