/**
 * The verdict feed shipped as a pnpm config dependency, read by the pnpm hook offline.
 * Measured (pnpm 10.34.9 and 12.21.0): pnpm installs config dependencies before it loads the
 * pnpmfile, and node_modules/.pnpm-config/<name>/ holds the package when preResolution and
 * readPackage run — on the first install, later installs, a fresh clone (`--frozen-lockfile`
 * without node_modules) and `pnpm add`. pnpm 10 writes a directory there; pnpm 12 a symlink
 * into <store>/v11/links/<name>/<version>/<hash>/node_modules/<name>. So `feed.source:
 * "<name>@^1"` with `feed.offline: true` needs no network and no cached copy on either.
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildFeed } from '../src/feed/build';
import { generateKeyPair } from '../src/feed/keys';
import type { FeedRecord } from '../src/types';
import { buildPnpmBundleFromSources, cloneWithUnguardedLockfile, createPnpmProject, fixture, markerDir, PNPM_VERSIONS, type PnpmProject, type PnpmVersion, unwrapPnpmOutput } from './helpers/pm';
import { startRegistry, type PublishedPackage, type TestRegistry } from './helpers/registry';

const FEED_PACKAGE = '@pg-fixture/provenance-feed';
const FIXTURES = ['@pg-fixture/good', '@pg-fixture/bad'];

let registry: TestRegistry;
let markers: string;
let bundle: string;
let publicKey: string;
let feedPackage: PublishedPackage;

const record = (p: PublishedPackage, verdict: 'reproducible' | 'not-reproducible'): FeedRecord => ({
  name: p.name,
  version: p.version,
  integrity: p.integrity,
  repository: { url: `https://github.com/pg-fixture/${p.name.split('/')[1]}`, commit: 'a'.repeat(40), status: 'attested' },
  rebuild: { verdict, source: 'oss-rebuild' },
  scorecard: { score: 8.1, date: '2026-11-01', checks: { 'Dangerous-Workflow': 10 } },
});

beforeAll(async () => {
  const work = mkdtempSync(join(tmpdir(), 'pg-feed-cfgdep-'));
  const [reg, built] = await Promise.all([startRegistry(), buildPnpmBundleFromSources(join(work, 'pnpmfile.cjs'))]);
  registry = reg;
  bundle = built;
  markers = markerDir();
  const good = await registry.publish(fixture(markers, { name: '@pg-fixture/good', version: '1.0.0' }));
  const bad = await registry.publish(fixture(markers, { name: '@pg-fixture/bad', version: '1.0.0' }));
  const keys = generateKeyPair(join(work, 'keys'));
  publicKey = keys.publicKey;
  const feed = await buildFeed({ records: [record(good, 'reproducible'), record(bad, 'not-reproducible')], privateKeyPath: keys.privateKeyPath, out: join(work, 'provenance.feed') });
  // A feed file is UTF-8 text (a signed JSON preamble and NDJSON records), so publish() can carry it.
  feedPackage = await registry.publish({ name: FEED_PACKAGE, version: '1.2.0', files: { 'provenance.feed': readFileSync(feed.path) } });
}, 120_000);
afterAll(async () => registry?.close());

const provenancerc = (): string =>
  [
    'mode: block',
    'feed:',
    `  source: "${FEED_PACKAGE}@^1"`,
    `  publicKeys: [${JSON.stringify(publicKey)}]`,
    '  maxAge: 30d',
    '  offline: true',
    'rules:',
    '  repository: { require: claimed, allowedHosts: [github.com] }',
    '  rebuild: { require: reproducible }',
    '  scorecard: { minScore: 5 }',
    'unknown: block',
    '',
  ].join('\n');

function project(version: PnpmVersion, dependencies: Record<string, string>): PnpmProject {
  // pnpm 10 needs the integrity pinned in pnpm-workspace.yaml; 11+ pin it in the lockfile.
  const pin = version === '10' ? `${feedPackage.version}+${feedPackage.integrity}` : feedPackage.version;
  return createPnpmProject({
    version,
    registryUrl: registry.url,
    markers,
    dependencies,
    allowBuilds: FIXTURES,
    hook: { kind: 'pnpmfile', path: bundle },
    workspace: { configDependencies: { [FEED_PACKAGE]: pin } },
    provenancerc: provenancerc(),
  });
}

/** The guard never fetched or cached a feed of its own: it read the config dependency. */
function expectNoFeedFetched(p: PnpmProject): void {
  expect(existsSync(join(p.env.PROVENANCE_GUARD_CACHE_DIR!, 'feeds'))).toBe(false);
}

describe.each(PNPM_VERSIONS)('pnpm %s: feed.source from a config dependency, offline', (version) => {
  test('a blocked package fails the install; an allowed one installs, also on a fresh clone', async () => {
    const blocked = project(version, { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' });
    const r = await blocked.pnpm(['install']);
    expect(r.code, r.output).not.toBe(0);
    const text = unwrapPnpmOutput(r.output);
    expect(text).toContain('@pg-fixture/bad');
    expect(text).toContain('[rebuild]');
    expect(blocked.installed('@pg-fixture/bad')).toEqual([]);
    expect(blocked.installed('@pg-fixture/good')).toEqual([]);
    expect(blocked.ran()).toEqual([]);
    expect(blocked.lockfile() ?? '').not.toContain('@pg-fixture/bad');
    expectNoFeedFetched(blocked);

    const allowed = project(version, { '@pg-fixture/good': '1.0.0' });
    const ok = await allowed.pnpm(['install']);
    expect(ok.code, ok.output).toBe(0);
    expect(allowed.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    const installedFeed = join(allowed.dir, 'node_modules/.pnpm-config', FEED_PACKAGE, 'provenance.feed');
    expect(existsSync(installedFeed)).toBe(true);
    // pnpm 12 links the config dependency from its store; pnpm 10 places it in the project.
    if (version === '12') expect(realpathSync(installedFeed)).toMatch(/\/links\/@pg-fixture\/provenance-feed\/1\.2\.0\//);
    else expect(realpathSync(installedFeed)).toBe(installedFeed);
    expectNoFeedFetched(allowed);

    // A fresh clone: no node_modules, the lockfile gate (preResolution) with the config dependency just installed.
    rmSync(join(allowed.dir, 'node_modules'), { recursive: true, force: true });
    allowed.clearMarkers();
    const clone = await allowed.pnpm(['install', '--frozen-lockfile']);
    expect(clone.code, clone.output).toBe(0);
    // (pnpm 10 reuses the build from its side-effects cache instead of running postinstall again.)
    expect(allowed.installed('@pg-fixture/good').length).toBeGreaterThan(0);
    expectNoFeedFetched(allowed);
  });

  test('a fresh clone whose lockfile holds a blocked package fails before anything is linked', async () => {
    const p = project(version, { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' });
    // The lockfile as committed by someone who bypassed the guard.
    const lock = await cloneWithUnguardedLockfile(p, (env) => p.pnpm(['install'], env), '@pg-fixture/bad@1.0.0');

    const r = await p.pnpm(['install', '--frozen-lockfile']);
    expect(r.code, r.output).not.toBe(0);
    const text = unwrapPnpmOutput(r.output);
    expect(text).toContain('@pg-fixture/bad');
    expect(text).toContain('[rebuild]');
    expect(p.installed('@pg-fixture/bad')).toEqual([]);
    expect(p.installed('@pg-fixture/good')).toEqual([]);
    expect(p.ran()).toEqual([]);
    expect(p.lockfile()).toBe(lock);
    expectNoFeedFetched(p);
  });
});
