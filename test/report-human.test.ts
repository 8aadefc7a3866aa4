import { describe, expect, test } from 'vitest';
import { buildReport } from '../src/report/build';
import { causeOf, groupByCause } from '../src/report/causes';
import { blockedSummary, formatHuman } from '../src/report/human';
import type { Finding, PackageResult } from '../src/types';

const NO_CARD: Finding = { rule: 'scorecard', severity: 'warn', message: 'no OpenSSF Scorecard for the repository' };
const NOT_IN_FEED = (severity: 'warn' | 'block'): Finding[] => ['repository', 'rebuild', 'scorecard'].map((rule) => ({ rule: rule as Finding['rule'], severity, message: 'no evidence: this version is not in the verdict feed' }));

function tree(): PackageResult[] {
  const old = Array.from({ length: 199 }, (_, i) => ({ name: `dep-${String(i).padStart(3, '0')}`, version: '1.0.0', verdict: 'warn' as const, findings: [NO_CARD] }));
  const fresh: PackageResult = { name: 'zz-new', version: '2.0.0', verdict: 'warn', findings: NOT_IN_FEED('warn'), via: ['dep-001', 'mid'] };
  return [...old, fresh];
}

describe('a report a person reads', () => {
  test('200 flagged packages: grouped by cause with counts, a handful in detail, fits one screen', () => {
    const out = formatHuman(buildReport(tree()), { color: false, now: new Date('2026-12-01') });
    const lines = out.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(40);
    expect(out).toContain('199 packages: no OpenSSF Scorecard in the feed — set `rules.scorecard: off` or `unknown: allow`');
    expect(out).toContain('1 package: not in the verdict feed');
    expect(out).toMatch(/feed update/);
    // The new package (not in the feed) comes first in the details, with the path that brought it in.
    const firstDetail = lines.find((l) => /^WARN +\S+@/.test(l));
    expect(firstDetail).toBe('WARN   zz-new@2.0.0 via dep-001 > mid');
    expect(out).toContain('… and 195 more packages: --verbose');
  });
  test('--verbose lists every package', () => {
    const out = formatHuman(buildReport(tree()), { color: false, verbose: true });
    for (const p of tree()) expect(out).toContain(`${p.name}@${p.version}`);
  });
  test('blocked packages come before warned ones, with their override; the alias as written is shown', () => {
    const results: PackageResult[] = [
      ...tree(),
      { name: 'evil', version: '1.0.0', alias: 'nice-name', verdict: 'block', findings: [{ rule: 'repository', severity: 'block', message: 'the package manifest names no source repository' }] },
    ];
    const out = formatHuman(buildReport(results), { color: false, now: new Date('2026-12-01') });
    const lines = out.split('\n');
    expect(lines[2]).toBe('BLOCK  1 package: the manifest names no source repository — an override per package, or `rules.repository: { require: off }`');
    expect(lines.find((l) => l.startsWith('BLOCK  evil'))).toBe('BLOCK  evil@1.0.0 (as nice-name)');
    expect(out).toContain('  - package: "evil@1.0.0"');
    expect(out.split('\n').length).toBeLessThanOrEqual(45);
  });
  test('names and messages from feeds and lockfiles are escaped', () => {
    const out = formatHuman(buildReport([{ name: 'x\u001b[2J', version: '1.0.0', verdict: 'warn', via: ['a\nb'], findings: [{ rule: 'source', severity: 'warn', message: 'from \u202egit' }] }]), { color: false });
    expect(out).not.toMatch(/[\u001b\u202e]/);
    expect(out).toContain('x\\e[2J@1.0.0 via a\\nb');
  });
  test('hook summary: causes with counts, at most a handful of packages', () => {
    const blocked = Array.from({ length: 30 }, (_, i) => ({ name: `b${i}`, version: '1.0.0', verdict: 'block' as const, findings: NOT_IN_FEED('block') }));
    const text = blockedSummary(buildReport(blocked), { now: new Date('2026-12-01') });
    expect(text.split('\n')[0]).toBe('provenance-guard blocked 30 packages:');
    expect(text.split('\n')[1]).toMatch(/^BLOCK {2}30 packages: not in the verdict feed/);
    expect(text).toContain('… and 25 more packages');
    expect(text.split('\n').length).toBeLessThanOrEqual(50);
  });
  test('every policy message has a cause with a hint', () => {
    const messages: Finding[] = [
      NO_CARD,
      { rule: 'scorecard', severity: 'warn', message: 'Scorecard check Dangerous-Workflow has no result' },
      { rule: 'rebuild', severity: 'warn', message: 'no rebuild verdict for this version' },
      { rule: 'repository', severity: 'warn', message: 'no source repository is known for this version' },
      { rule: 'feed', severity: 'warn', message: 'the verdict feed is stale (generated x, older than feed.maxAge)' },
      { rule: 'integrity', severity: 'block', message: 'integrity cannot be bound' },
    ];
    for (const f of messages) expect(causeOf(f).hint, f.message).not.toBe('');
    expect(groupByCause([{ name: 'a', version: '1', verdict: 'warn', findings: messages.slice(0, 2) }])).toHaveLength(1);
  });
  test('contents: only a diverged tarball is told as differing from its source', () => {
    const contents = (message: string): Finding => ({ rule: 'contents', severity: 'warn', message });
    expect(causeOf(contents('the published tarball diverges from its source at 0123456789ab')).title).toBe('published contents differ from the source');
    // Evidence missing is not a difference: it says so, with the settings that change it.
    for (const message of ['no source match verdict for this version', 'source match inconclusive: no commit found']) {
      expect(causeOf(contents(message)), message).toEqual({
        key: 'no-contents', title: 'no source match verdict in the feed',
        hint: 'gather one with `feed build --verify-source`, or set `rules.contents: { require: off }` or `unknown: allow`',
      });
    }
    const built = causeOf(contents('the tarball holds files absent from its source at 0123456789ab (build output), but rules.contents requires match'));
    expect(built).toEqual({ key: 'contents-built', title: 'the tarball holds build output (rules.contents requires match)', hint: 'set `rules.contents: { require: built }`, or an override per package' });
  });
});
