// src/config/validate.ts key by key: every value SPEC allows becomes exactly that setting, and every
// other value is a problem naming its key (loadConfig then refuses the file: exit 2). A value that
// was silently dropped would leave the default in force where the user asked for something else.
import { describe, expect, test } from 'vitest';
import { formatDuration, parseDuration } from '../src/config/duration';
import { validateConfig } from '../src/config/validate';
import type { Config } from '../src/config/types';

const valid = (raw: unknown): Config => {
  const { config, problems } = validateConfig(raw, '/root');
  expect(problems).toEqual([]);
  return config;
};
const problemsOf = (raw: unknown): string[] => validateConfig(raw, '/root').problems;
const keysOf = (raw: unknown): string[] => problemsOf(raw).map((p) => p.slice(0, p.indexOf(': ')));

describe('accepted values', () => {
  test('top level and feed', () => {
    const config = valid({ mode: 'off', unknown: 'allow', online: true, feed: { source: '  ./feed  ', publicKeys: [' k1 ', 'k2'], maxAge: '12h', onStale: 'block', offline: true, minSerial: 0 } });
    expect([config.mode, config.unknown, config.online]).toEqual(['off', 'allow', true]);
    expect(config.feed).toMatchObject({ source: './feed', publicKeys: ['k1', 'k2'], maxAge: 12 * 3_600_000, onStale: 'block', offline: true, minSerial: 0 });
    expect(valid({ feed: { minSerial: 42 } }).feed.minSerial).toBe(42);
    expect(valid(null).mode).toBe('warn');
    expect(valid(undefined).mode).toBe('warn');
  });

  test('rules', () => {
    const rules = valid({ rules: { repository: { require: 'attested', allowedHosts: ['GitHub.com', ' gitlab.com '] }, rebuild: { require: 'reproducible' }, contents: { require: 'built' }, scorecard: { minScore: 0, checks: { Maintained: 10, 'Code-Review': 0 } } } }).rules;
    expect(rules.repository).toEqual({ require: 'attested', allowedHosts: ['github.com', 'gitlab.com'] });
    expect(valid({ rules: { repository: { allowedHosts: ['git.internal', 'ghe_1.corp.example', '10.0.0.7', '[::1]', 'localhost'] } } }).rules.repository.allowedHosts).toEqual(['git.internal', 'ghe_1.corp.example', '10.0.0.7', '[::1]', 'localhost']);
    expect(rules.rebuild.require).toBe('reproducible');
    expect(rules.contents.require).toBe('built');
    expect(rules.scorecard).toEqual({ minScore: 0, checks: { Maintained: 10, 'Code-Review': 0 } });
    expect(valid({ rules: { scorecard: { minScore: 10 } } }).rules.scorecard).toEqual({ minScore: 10, checks: {} });
    expect(valid({ rules: { scorecard: { checks: { Maintained: 3 } } } }).rules.scorecard).toEqual({ checks: { Maintained: 3 } });
    for (const off of ['off', false]) {
      const r = valid({ rules: { repository: off, rebuild: off, contents: off, scorecard: off } }).rules;
      expect([r.repository.require, r.rebuild.require, r.contents.require, r.scorecard]).toEqual(['off', 'off', 'off', null]);
    }
    expect(valid({ rules: { scorecard: null } }).rules.scorecard).toBeNull();
    // An object without require keeps the default.
    const defaults = valid({}).rules;
    expect(valid({ rules: { rebuild: {}, contents: {}, repository: {} } }).rules).toEqual(defaults);
  });

  test('exclude and overrides', () => {
    const config = valid({
      exclude: ['left-pad', ' @acme/* ', 'a@^1.0.0'],
      overrides: [
        { package: ' left-pad ', rules: 'all', reason: ' vendored ', expires: '2027-01-31' },
        { package: '@acme/x@^2', rules: ['scorecard', 'rebuild'], reason: 'r', expires: new Date('2027-02-01T00:00:00Z') },
        { package: 'b', rules: ['all'], reason: 'r', expires: '2028-02-29' },
      ],
    });
    expect(config.exclude).toEqual(['left-pad', '@acme/*', 'a@^1.0.0']);
    expect(config.overrides).toEqual([
      { package: 'left-pad', rules: 'all', reason: 'vendored', expires: '2027-01-31' },
      { package: '@acme/x@^2', rules: ['scorecard', 'rebuild'], reason: 'r', expires: '2027-02-01' },
      { package: 'b', rules: 'all', reason: 'r', expires: '2028-02-29' },
    ]);
  });

  test('sources', () => {
    const sources = valid({
      sources: {
        registry: 'https://r.example/npm//',
        provenance: true,
        depsDev: false,
        scorecard: 'off',
        ossRebuild: { enabled: false, url: 'http://rebuild.example/' },
        timeout: '30m',
        cacheTtl: '2d',
        concurrency: 64,
        onError: 'fail',
      },
    }).sources;
    expect(sources.registry).toEqual({ enabled: true, url: 'https://r.example/npm' });
    expect(sources.provenance.enabled).toBe(true);
    expect(sources.depsDev.enabled).toBe(false);
    expect(sources.scorecard.enabled).toBe(false);
    expect(sources.ossRebuild).toMatchObject({ enabled: false, url: 'http://rebuild.example' });
    expect([sources.timeout, sources.cacheTtl, sources.concurrency, sources.onError]).toEqual([30 * 60_000, 2 * 86_400_000, 64, 'fail']);
    expect(valid({ sources: { concurrency: 1, depsDev: { enabled: true } } }).sources).toMatchObject({ concurrency: 1, depsDev: { enabled: true } });
  });
});

describe('every other value is a problem naming its key', () => {
  test.each<[string, unknown, string[]]>([
    ['a list at the top', [], ['(top level)']],
    ['text at the top', 'mode: block', ['(top level)']],
    ['an unknown top-level key', { modee: 'block' }, ['modee']],
    ['mode', { mode: 'strict' }, ['mode']],
    ['unknown', { unknown: 'ignore' }, ['unknown']],
    ['online as text', { online: 'yes' }, ['online']],
    ['feed as text', { feed: './feed' }, ['feed']],
    ['feed as a list', { feed: ['./feed'] }, ['feed']],
    ['an unknown feed key', { feed: { sauce: 'x' } }, ['feed.sauce']],
    ['an empty feed source', { feed: { source: '  ' } }, ['feed.source']],
    ['a feed source that is no text', { feed: { source: 42 } }, ['feed.source']],
    ['public keys as text', { feed: { publicKeys: 'k' } }, ['feed.publicKeys']],
    ['empty and non-text public keys', { feed: { publicKeys: ['', 'k', 3] } }, ['feed.publicKeys[0]', 'feed.publicKeys[2]']],
    ['a maxAge that is a number', { feed: { maxAge: 7 } }, ['feed.maxAge']],
    ['a maxAge of nothing', { feed: { maxAge: '0d' } }, ['feed.maxAge']],
    ['onStale', { feed: { onStale: 'ignore' } }, ['feed.onStale']],
    ['offline as text', { feed: { offline: 'true' } }, ['feed.offline']],
    ['a negative minSerial', { feed: { minSerial: -1 } }, ['feed.minSerial']],
    ['a fractional minSerial', { feed: { minSerial: 1.5 } }, ['feed.minSerial']],
    ['a minSerial as text', { feed: { minSerial: '3' } }, ['feed.minSerial']],
    ['a minSerial past safe integers', { feed: { minSerial: 2 ** 53 } }, ['feed.minSerial']],
    ['rules as text', { rules: 'strict' }, ['rules']],
    ['an unknown rule', { rules: { provenance: 'on' } }, ['rules.provenance']],
    ['a repository rule as text', { rules: { repository: 'on' } }, ['rules.repository']],
    ['a repository require', { rules: { repository: { require: 'signed' } } }, ['rules.repository.require']],
    ['an unknown repository key', { rules: { repository: { hosts: [] } } }, ['rules.repository.hosts']],
    ['allowed hosts as text', { rules: { repository: { allowedHosts: 'github.com' } } }, ['rules.repository.allowedHosts']],
    // A URL, a path or a port can never equal the host a repository lives on: every package would fail the rule.
    ['allowed hosts written as URLs or with a path or port', { rules: { repository: { allowedHosts: ['github.com', 'https://gitlab.com', 'github.com/', 'git.example:8443', 'a b'] } } }, ['rules.repository.allowedHosts[1]', 'rules.repository.allowedHosts[2]', 'rules.repository.allowedHosts[3]', 'rules.repository.allowedHosts[4]']],
    ['a rebuild rule as text', { rules: { rebuild: 'on' } }, ['rules.rebuild']],
    ['a rebuild rule as true', { rules: { rebuild: true } }, ['rules.rebuild']],
    ['an unknown rebuild key', { rules: { rebuild: { required: 'reproducible' } } }, ['rules.rebuild.required']],
    ['a contents require', { rules: { contents: { require: 'rebuilt' } } }, ['rules.contents.require']],
    ['a scorecard rule with nothing in it', { rules: { scorecard: {} } }, ['rules.scorecard']],
    ['a scorecard rule as a number', { rules: { scorecard: 5 } }, ['rules.scorecard']],
    ['a minScore below 0', { rules: { scorecard: { minScore: -0.5 } } }, ['rules.scorecard.minScore']],
    ['a minScore above 10', { rules: { scorecard: { minScore: 10.5 } } }, ['rules.scorecard.minScore']],
    ['a minScore as text', { rules: { scorecard: { minScore: '5' } } }, ['rules.scorecard.minScore']],
    ['a minScore that is not finite', { rules: { scorecard: { minScore: Number.NaN } } }, ['rules.scorecard.minScore']],
    ['checks as a list', { rules: { scorecard: { checks: ['Maintained'] } } }, ['rules.scorecard.checks']],
    ['a check above 10', { rules: { scorecard: { checks: { Maintained: 11, Fuzzing: -1 } } } }, ['rules.scorecard.checks.Maintained', 'rules.scorecard.checks.Fuzzing']],
    ['an unknown scorecard key', { rules: { scorecard: { minScore: 5, max: 9 } } }, ['rules.scorecard.max']],
    ['exclude as text', { exclude: 'left-pad' }, ['exclude']],
    ['an exclude that is no pattern', { exclude: ['ok', 'Not A Name!'] }, ['exclude[1]']],
    // npm scopes are lower case: a pattern with capitals in its scope would match no package, silently.
    ['a scope written with capitals', { exclude: ['@Acme/*', '@acme/*', 'JSONStream'], overrides: [{ package: '@ACME/x', rules: 'all', reason: 'r', expires: '2027-01-01' }] }, ['exclude[0]', 'overrides[0].package']],
    ['overrides as an object', { overrides: { package: 'x' } }, ['overrides']],
    ['an override that is text', { overrides: ['left-pad'] }, ['overrides[0]']],
    ['an override without a package', { overrides: [{ rules: 'all', reason: 'r', expires: '2027-01-01' }] }, ['overrides[0].package']],
    ['an override of a blank package', { overrides: [{ package: ' ', rules: 'all', reason: 'r', expires: '2027-01-01' }] }, ['overrides[0].package']],
    ['an override of no pattern', { overrides: [{ package: 'Not A Name!', rules: 'all', reason: 'r', expires: '2027-01-01' }] }, ['overrides[0].package']],
    ['an override of one rule as text', { overrides: [{ package: 'x', rules: 'scorecard', reason: 'r', expires: '2027-01-01' }] }, ['overrides[0].rules']],
    ['all beside other rules', { overrides: [{ package: 'x', rules: ['all', 'rebuild'], reason: 'r', expires: '2027-01-01' }] }, ['overrides[0].rules']],
    ['an unknown rule waived', { overrides: [{ package: 'x', rules: ['scorecard', 'bogus'], reason: 'r', expires: '2027-01-01' }] }, ['overrides[0].rules[1]']],
    ['an integrity waiver', { overrides: [{ package: 'x', rules: ['integrity'], reason: 'r', expires: '2027-01-01' }] }, ['overrides[0].rules[0]']],
    ['a blank reason', { overrides: [{ package: 'x', rules: 'all', reason: '  ', expires: '2027-01-01' }] }, ['overrides[0].reason']],
    ['a day that does not exist', { overrides: [{ package: 'x', rules: 'all', reason: 'r', expires: '2027-02-29' }] }, ['overrides[0].expires']],
    ['a date with a time', { overrides: [{ package: 'x', rules: 'all', reason: 'r', expires: '2027-01-01T00:00' }] }, ['overrides[0].expires']],
    ['a date that is not one', { overrides: [{ package: 'x', rules: 'all', reason: 'r', expires: new Date('nonsense') }] }, ['overrides[0].expires']],
    ['an unknown override key', { overrides: [{ package: 'x', rules: 'all', reason: 'r', expires: '2027-01-01', note: 'n' }] }, ['overrides[0].note']],
    ['sources as text', { sources: 'all' }, ['sources']],
    ['an unknown source', { sources: { npmjs: true } }, ['sources.npmjs']],
    ['a source URL that is no http(s) URL', { sources: { registry: 'ftp://r.example/' } }, ['sources.registry']],
    ['a source URL that is no URL', { sources: { registry: 'registry' } }, ['sources.registry']],
    ['a source as a number', { sources: { depsDev: 1 } }, ['sources.depsDev']],
    ['a source enabled as text', { sources: { depsDev: { enabled: 'yes' } } }, ['sources.depsDev.enabled']],
    ['a source url in an object', { sources: { depsDev: { url: 'ftp://x' } } }, ['sources.depsDev.url']],
    ['an unknown source key', { sources: { depsDev: { uri: 'https://x' } } }, ['sources.depsDev.uri']],
    ['a timeout', { sources: { timeout: 'soon' } }, ['sources.timeout']],
    ['a cacheTtl', { sources: { cacheTtl: 5 } }, ['sources.cacheTtl']],
    ['a concurrency of 0', { sources: { concurrency: 0 } }, ['sources.concurrency']],
    ['a concurrency of 65', { sources: { concurrency: 65 } }, ['sources.concurrency']],
    ['a fractional concurrency', { sources: { concurrency: 2.5 } }, ['sources.concurrency']],
    ['a concurrency as text', { sources: { concurrency: '4' } }, ['sources.concurrency']],
    ['onError', { sources: { onError: 'ignore' } }, ['sources.onError']],
  ])('%s', (_, raw, keys) => {
    expect(keysOf(raw)).toEqual(keys);
  });

  test('an override with any problem is not kept', () => {
    const { config } = validateConfig({ overrides: [{ package: 'x', rules: ['bogus'], reason: 'r', expires: '2027-01-01' }, { package: 'y', rules: 'all', reason: 'r', expires: '2027-01-01' }] }, '/root');
    expect(config.overrides.map((o) => o.package)).toEqual(['y']);
  });

  test('the problem says what was found and what is expected', () => {
    expect(problemsOf({ mode: null })).toEqual(['mode: expected one of block | warn | off, got null']);
    expect(problemsOf({ mode: ['block'] })).toEqual(['mode: expected one of block | warn | off, got a list']);
    expect(problemsOf({ mode: { block: true } })).toEqual(['mode: expected one of block | warn | off, got an object']);
    expect(problemsOf({ mode: 'strict' })).toEqual(['mode: expected one of block | warn | off, got "strict"']);
    expect(problemsOf({ mode: 3 })).toEqual(['mode: expected one of block | warn | off, got 3']);
    expect(problemsOf({ mode: new Date('2027-01-01T00:00:00Z') })).toEqual(['mode: expected one of block | warn | off, got the date 2027-01-01']);
    // A JavaScript config can hand over an invalid Date: named, never a RangeError.
    expect(problemsOf({ overrides: [{ package: 'x', rules: 'all', reason: 'r', expires: new Date('nonsense') }] })).toEqual(['overrides[0].expires: expected a date as YYYY-MM-DD, got an invalid date']);
    expect(problemsOf({ feed: { sauce: 1 } })).toEqual(['feed.sauce: unknown key (expected one of: source, publicKeys, maxAge, onStale, offline, minSerial)']);
    expect(problemsOf({ rules: { scorecard: {} } })).toEqual(['rules.scorecard: expected minScore and/or checks (or `off` to disable the rule)']);
  });
});

describe('durations (feed.maxAge, sources.timeout, sources.cacheTtl)', () => {
  test.each<[string, number]>([
    ['1500ms', 1500],
    ['90s', 90_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1.5h', 5_400_000],
    [' 7 d ', 604_800_000],
    ['0.0004s', 0],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([['7'], ['d'], ['7 days'], ['x7d'], ['7dx'], ['7d 1h'], ['-7d'], ['1.d'], ['.5d'], ['7D'], ['1e3ms'], ['']])('%j is no duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  test('written back in the largest whole unit', () => {
    expect([604_800_000 * 2, 86_400_000 * 3, 3_600_000, 90_000, 60_000, 1500, 0].map(formatDuration)).toEqual(['2w', '3d', '1h', '90s', '1m', '1500ms', '0ms']);
  });
});
