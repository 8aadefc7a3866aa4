/** The exact edges of the policy's comparisons: a flipped `<`/`<=` or an off-by-one instant fails here. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { validateConfig } from '../src/config/validate';
import { createGuard } from '../src/guard';
import { Policy } from '../src/policy/evaluate';
import type { FeedRecord, ResolvedPackage } from '../src/types';
import { buildTestFeed, makeKeys, tempDir } from './helpers/feed-fixtures';

const SHA = 'sha512-' + Buffer.alloc(64, 1).toString('base64');
const pkg: ResolvedPackage = { name: 'left-pad', version: '1.3.0', integrity: SHA, source: 'registry' };
const record = (score: number, check: number): FeedRecord => ({
  name: 'left-pad',
  version: '1.3.0',
  integrity: SHA,
  repository: { url: 'https://github.com/stevemao/left-pad', status: 'claimed' },
  scorecard: { score, checks: { 'Dangerous-Workflow': check } },
});

function policy(raw: Record<string, unknown>, now = new Date('2026-11-25T12:00:00Z')): Policy {
  const { config, problems } = validateConfig({ feed: { publicKeys: ['k'] }, mode: 'block', unknown: 'allow', rules: { rebuild: { require: 'off' } }, ...raw }, '/p');
  expect(problems).toEqual([]);
  return new Policy(config, now);
}

describe('scorecard thresholds are minimums (inclusive)', () => {
  const p = policy({ rules: { rebuild: { require: 'off' }, scorecard: { minScore: 5, checks: { 'Dangerous-Workflow': 8 } } } });
  test('a score equal to minScore passes, just below blocks', () => {
    expect(p.evaluate(pkg, record(5, 10)).verdict).toBe('pass');
    expect(p.evaluate(pkg, record(4.9, 10)).verdict).toBe('block');
  });
  test('a check equal to its minimum passes, just below blocks', () => {
    expect(p.evaluate(pkg, record(10, 8)).verdict).toBe('pass');
    expect(p.evaluate(pkg, record(10, 7)).verdict).toBe('block');
  });
  test('an inconclusive check (-1) is evidence missing, not a pass', () => {
    const strictUnknown = policy({ unknown: 'block', rules: { rebuild: { require: 'off' }, scorecard: { checks: { 'Dangerous-Workflow': 0 } } } });
    expect(strictUnknown.evaluate(pkg, record(10, -1)).verdict).toBe('block');
    expect(strictUnknown.evaluate(pkg, record(10, 0)).verdict).toBe('pass');
  });
});

describe('an override applies through the whole of its expiry day (UTC), and not a millisecond longer', () => {
  const overrides = [{ package: 'left-pad', rules: ['scorecard'], reason: 'reviewed', expires: '2026-11-25' }];
  const raw = { overrides, rules: { rebuild: { require: 'off' }, scorecard: { minScore: 9 } } };
  test('on the last instant it still waives', () => {
    const e = policy(raw, new Date('2026-11-25T23:59:59.999Z')).evaluate(pkg, record(1, 10));
    expect(e.verdict).toBe('pass');
    expect(e.waived.map((f) => f.rule)).toEqual(['scorecard']);
  });
  test('one millisecond later it has expired and is reported', () => {
    const e = policy(raw, new Date('2026-11-26T00:00:00.000Z')).evaluate(pkg, record(1, 10));
    expect(e.verdict).toBe('block');
    expect(e.findings.map((f) => f.rule).sort()).toEqual(['override', 'scorecard']);
  });
});

describe('the guard', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('offline switches online evidence off, whatever asked for it', async () => {
    const dir = tempDir('pg-guard-');
    dirs.push(dir);
    const keys = makeKeys(join(dir, 'keys'));
    await buildTestFeed(keys, [record(7, 10)], join(dir, 'provenance.feed'));
    const env = { PROVENANCE_GUARD_CACHE_DIR: join(dir, 'cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, 'cache', 'state') };
    const base = { cwd: dir, configPath: join(dir, 'rc.json'), env };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(base.configPath, JSON.stringify({ mode: 'block', online: true, feed: { source: './provenance.feed', publicKeys: [keys.publicKey] } }));
    const online = await createGuard(base);
    expect(online.config.online).toBe(true);
    online.close();
    const offline = await createGuard({ ...base, offline: true });
    expect(offline.config.online).toBe(false);
    offline.close();
    const byEnv = await createGuard({ ...base, env: { ...env, PROVENANCE_GUARD_OFFLINE: '1' } });
    expect(byEnv.config.online).toBe(false);
    byEnv.close();
  });
});
