/**
 * Verdict reuse in the pnpm hook (issue 14, "repeat work is free"), with real pnpm 10 and 12
 * against verdaccio: a warm frozen install answers preResolution's lockfile batch from the verdict
 * stored in the state directory (seen through PROVENANCE_GUARD_TIMING=1), with or without node_modules,
 * and anything the verdict depends on — the lockfile, the policy, the feed, the secret it is
 * authenticated with — makes the hook check everything again. A blocked package is blocked on
 * every run, with nothing installed, no script run and nothing stored.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FeedRecord } from '../src/types';
import { stateVerdictFile } from '../src/verdict-store';
import { buildTestFeed, makeKeys, type TestKeys } from './helpers/feed-fixtures';
import { createPnpmProject, PNPM_VERSIONS, startPnpmFixtureRegistry, type PnpmProject, type PnpmVersion, unwrapPnpmOutput } from './helpers/pm';
import type { PublishedPackage, TestRegistry } from './helpers/registry';

const GOOD = '@pg-fixture/ru-good';
const OTHER = '@pg-fixture/ru-other';
const BAD = '@pg-fixture/ru-bad';
const REUSED = /provenance-guard timing: lockfile verdict reused/;

let registry: TestRegistry;
let markers: string;
let keys: TestKeys;
let serial = 100;
let published: Map<string, PublishedPackage>;
const projects: PnpmProject[] = [];

beforeAll(async () => {
  ({ registry, markers, published } = await startPnpmFixtureRegistry([GOOD, OTHER, BAD]));
  keys = makeKeys();
}, 120_000);

afterAll(async () => {
  await registry?.close();
  for (const p of projects) rmSync(dirname(p.dir), { recursive: true, force: true });
  for (const dir of [markers, keys?.dir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A feed in which every fixture passes except those named in `weak` (not reproducible); a new serial each time. */
async function writeFeed(path: string, weak: readonly string[]): Promise<void> {
  const records = [...published.values()].map((p): FeedRecord => ({
    name: p.name, version: p.version, integrity: p.integrity,
    repository: { url: `https://github.com/pg-fixture/${p.name.split('/')[1]}`, commit: 'a'.repeat(40), status: 'attested' },
    rebuild: { verdict: weak.includes(p.name) ? 'not-reproducible' : 'reproducible', source: 'oss-rebuild' },
    scorecard: { score: 8, date: '2026-11-01', checks: { 'Dangerous-Workflow': 10 } },
  }));
  await buildTestFeed(keys, records, path, { serial: ++serial });
}

function rc(feed: string, mode: 'block' | 'warn', unknown = 'block'): string {
  return [`mode: ${mode}`, 'feed:', `  source: ${JSON.stringify(feed)}`, `  publicKeys: [${JSON.stringify(keys.publicKey)}]`, '  offline: true',
    'rules:', '  repository: { require: claimed }', '  rebuild: { require: reproducible }', '  scorecard: { minScore: 5 }', `unknown: ${unknown}`, ''].join('\n');
}

async function setUp(version: PnpmVersion, dependencies: Record<string, string>, mode: 'block' | 'warn' = 'block') {
  const parent = mkdtempSync(join(tmpdir(), `pg-reuse${version}-`));
  const feed = join(parent, 'provenance.feed');
  await writeFeed(feed, [BAD]);
  const p = createPnpmProject({ version, registryUrl: registry.url, markers, parent, dependencies, allowBuilds: [GOOD, OTHER, BAD], provenancerc: rc(feed, mode), workspace: { sideEffectsCache: false }, env: { PROVENANCE_GUARD_TIMING: '1' } });
  projects.push(p);
  return { p, feed, store: stateVerdictFile(p.env.PROVENANCE_GUARD_STATE_DIR!, 'pnpm', p.dir) };
}

/** Installs until the verdict is stored (the first install resolves: readPackage checks each package, no lockfile batch). */
async function installAndStore(p: PnpmProject, store: string): Promise<void> {
  for (const args of [['install'], ['install', '--frozen-lockfile']]) {
    const r = await p.pnpm(args);
    expect(r.code, r.output).toBe(0);
  }
  expect(existsSync(store)).toBe(true);
}

async function frozen(p: PnpmProject) {
  return p.pnpm(['install', '--frozen-lockfile']);
}

describe.each(PNPM_VERSIONS)('pnpm %s: the lockfile verdict is reused on a warm frozen install', (version) => {
  test('reused when nothing changed; a changed lockfile, policy or feed is checked again', async () => {
    const { p, feed, store } = await setUp(version, { [GOOD]: '1.0.0', [OTHER]: '1.0.0' });
    await installAndStore(p, store);
    const warm = await frozen(p);
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toMatch(REUSED);
    // A reuse makes the pnpmfile's code cache (before pnpm 12 kills its hook process, which sees no 'exit'); the next install runs from it.
    const cached = await frozen(p);
    expect(cached.output).toMatch(REUSED);
    expect(cached.output).toMatch(/code cache pnpmfile hit/);

    // The lockfile changed in place: `other` now claims bytes the feed does not attest. The
    // guard blocks it (pnpm itself would only fail later, on download).
    const lockfile = p.lockfile()!;
    const forged = lockfile.replace(published.get(OTHER)!.integrity, published.get(GOOD)!.integrity);
    expect(forged).not.toBe(lockfile);
    writeFileSync(join(p.dir, 'pnpm-lock.yaml'), forged);
    const changedLock = await frozen(p);
    expect(changedLock.code).not.toBe(0);
    expect(changedLock.output).not.toMatch(REUSED);
    expect(unwrapPnpmOutput(changedLock.output)).toMatch(/ru-other@1\.0\.0.*integrity/);
    writeFileSync(join(p.dir, 'pnpm-lock.yaml'), lockfile);
    expect((await frozen(p)).output).not.toMatch(REUSED);
    expect((await frozen(p)).output).toMatch(REUSED);

    // A new feed in which `good` is not reproducible any more blocks it on the next run.
    await writeFeed(feed, [BAD, GOOD]);
    const newFeed = await frozen(p);
    expect(newFeed.code).not.toBe(0);
    expect(newFeed.output).not.toMatch(REUSED);
    expect(unwrapPnpmOutput(newFeed.output)).toContain(`${GOOD}@1.0.0`);
    expect(existsSync(store)).toBe(false);
    await writeFeed(feed, [BAD]);
    expect((await frozen(p)).code).toBe(0);

    // A stricter policy (scorecard 9: every fixture fails) blocks at once.
    p.writeProvenancerc(rc(feed, 'block').replace('minScore: 5', 'minScore: 9'));
    const strict = await frozen(p);
    expect(strict.code).not.toBe(0);
    expect(strict.output).not.toMatch(REUSED);
  }, 300_000);

  test('an install that finds no node_modules stores its verdict, and the next one (rm -rf node_modules) reuses it', async () => {
    const { p, store } = await setUp(version, { [GOOD]: '1.0.0' });
    await installAndStore(p, store);
    // A fresh clone: no node_modules, nothing stored. pnpm 12 ends its hook process without an
    // exit event, before node_modules exists: the verdict is stored in the state directory at once.
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    rmSync(store);
    const fresh = await frozen(p);
    expect(fresh.code, fresh.output).toBe(0);
    expect(fresh.output).not.toMatch(REUSED);
    expect(existsSync(store)).toBe(true);
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    const again = await frozen(p);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(REUSED);
    expect(p.installed(GOOD).length).toBeGreaterThan(0);
    expect(p.ran()).toContain(`${GOOD}@1.0.0`);
  }, 300_000);

  test('a tampered store, or one authenticated with another secret, is not used', async () => {
    const { p, store } = await setUp(version, { [GOOD]: '1.0.0' });
    await installAndStore(p, store);
    const stored = readFileSync(store, 'utf8');
    expect(stored).toMatch(/"pass":\d+/);
    writeFileSync(store, stored.replace(/"pass":(\d+)/, (_, n: string) => `"pass":${Number(n) + 1}`));
    const tampered = await frozen(p);
    expect(tampered.code, tampered.output).toBe(0);
    expect(tampered.output).not.toMatch(REUSED);
    expect((await frozen(p)).output).toMatch(REUSED);

    // Another user's (or a pull request's) store: this verdict where another state directory, with a secret of its own, looks.
    const otherState = join(dirname(p.dir), 'other-cache', 'state');
    const copied = stateVerdictFile(otherState, 'pnpm', p.dir);
    mkdirSync(dirname(copied), { recursive: true });
    cpSync(store, copied);
    const otherEnv = { PROVENANCE_GUARD_CACHE_DIR: join(dirname(p.dir), 'other-cache'), PROVENANCE_GUARD_STATE_DIR: otherState };
    const other = await p.pnpm(['install', '--frozen-lockfile'], otherEnv);
    expect(other.code, other.output).toBe(0);
    expect(other.output).not.toMatch(REUSED);
    expect(readFileSync(copied, 'utf8')).not.toBe(readFileSync(store, 'utf8'));
    expect((await p.pnpm(['install', '--frozen-lockfile'], otherEnv)).output).toMatch(REUSED);
  }, 300_000);

  test('a blocked package is blocked on every run, with nothing installed, run or stored', async () => {
    const { p, store } = await setUp(version, { [GOOD]: '1.0.0' });
    await installAndStore(p, store);
    p.clearMarkers();
    // The lockfile gains `bad` without running anything (the hook is off for this resolution).
    writeFileSync(join(p.dir, 'package.json'), JSON.stringify({ name: 'pg-test-project', version: '1.0.0', private: true, dependencies: { [GOOD]: '1.0.0', [BAD]: '1.0.0' } }, null, 2));
    const lockOnly = await p.pnpm(['install', '--lockfile-only'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(lockOnly.code, lockOnly.output).toBe(0);
    for (let run = 0; run < 2; run++) {
      const r = await frozen(p);
      expect(r.code).not.toBe(0);
      expect(r.output).not.toMatch(REUSED);
      expect(unwrapPnpmOutput(r.output)).toContain(`${BAD}@1.0.0`);
      expect(p.installed(BAD)).toEqual([]);
      expect(p.ran()).toEqual([]);
      expect(existsSync(store)).toBe(false);
    }
  }, 300_000);

  test('warn means warn: a reused verdict prints its warnings again', async () => {
    const { p, store } = await setUp(version, { [GOOD]: '1.0.0', [BAD]: '1.0.0' }, 'warn');
    await installAndStore(p, store);
    const warm = await frozen(p);
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toMatch(REUSED);
    // A reuse makes the pnpmfile's code cache (before pnpm 12 kills its hook process, which sees no 'exit'); the next install runs from it.
    const cached = await frozen(p);
    expect(cached.output).toMatch(REUSED);
    expect(cached.output).toMatch(/code cache pnpmfile hit/);
    expect(unwrapPnpmOutput(warm.output)).toMatch(/ru-bad@1\.0\.0/);
    expect(unwrapPnpmOutput(warm.output)).toMatch(/rebuild/);
  }, 300_000);
});
