/**
 * The fixture world shared by the npm and Bun end-to-end tests: a verdaccio with packages whose
 * postinstall leaves a marker, and a signed feed in which every fixture passes except
 * @pg-fixture/bad (not reproducible). good → other → bad are independent; parent → mid → bad.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFeed } from '../../src/feed/build';
import { generateKeyPair } from '../../src/feed/keys';
import type { FeedRecord } from '../../src/types';
import { fixture, markerDir } from './pm';
import { startRegistry, type FixturePackage, type PublishedPackage, type TestRegistry } from './registry';

export const FIXTURE_NAMES = ['@pg-fixture/good', '@pg-fixture/other', '@pg-fixture/bad', '@pg-fixture/mid', '@pg-fixture/parent', '@pg-fixture/tool', '@pg-fixture/badtool'];

export interface FixtureWorld {
  registry: TestRegistry;
  markers: string;
  feedPath: string;
  publicKey: string;
  published: Map<string, PublishedPackage>;
  rc(extra?: FixturePolicyOptions): string;
  close(): Promise<void>;
}

/** The record of a fixture that passes every rule. */
export function goodRecord(p: PublishedPackage): FeedRecord {
  return {
    name: p.name,
    version: p.version,
    integrity: p.integrity,
    repository: { url: `https://github.com/pg-fixture/${p.name.replace(/^@[^/]+\//, '')}`, commit: 'a'.repeat(40), status: 'attested' },
    rebuild: { verdict: 'reproducible', source: 'oss-rebuild' },
    scorecard: { score: 8.1, date: '2026-11-01', checks: { 'Dangerous-Workflow': 10 } },
  };
}

export interface FixtureFeed {
  feedPath: string;
  publicKey: string;
  keysDir: string;
}

/** A signed feed of the published fixtures: every one passes but @pg-fixture/bad (not reproducible). */
export async function fixtureFeed(published: Iterable<PublishedPackage>): Promise<FixtureFeed> {
  const keysDir = mkdtempSync(join(tmpdir(), 'pg-keys-'));
  const keys = generateKeyPair(keysDir);
  const records = [...published].map((p) =>
    p.name === '@pg-fixture/bad' ? { ...goodRecord(p), rebuild: { verdict: 'not-reproducible' as const, source: 'oss-rebuild' } } : goodRecord(p),
  );
  const feedPath = (await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: join(keysDir, 'provenance.feed') })).path;
  return { feedPath, publicKey: keys.publicKey, keysDir };
}

export interface FixturePolicyOptions {
  mode?: string;
  unknown?: string;
  /** YAML lines under `overrides:`. */
  overrides?: string;
  publicKey?: string;
}

/** The install tests' .provenancerc: the fixture feed, offline, every rule on. */
export function fixturePolicy(feed: Pick<FixtureFeed, 'feedPath' | 'publicKey'>, options: FixturePolicyOptions = {}): string {
  return [
    `mode: ${options.mode ?? 'block'}`,
    'feed:',
    `  source: ${JSON.stringify(feed.feedPath)}`,
    `  publicKeys: [${JSON.stringify(options.publicKey ?? feed.publicKey)}]`,
    '  maxAge: 30d',
    '  onStale: block',
    '  offline: true',
    'rules:',
    '  repository: { require: claimed, allowedHosts: [github.com] }',
    '  rebuild: { require: reproducible }',
    '  scorecard: { minScore: 5 }',
    `unknown: ${options.unknown ?? 'block'}`,
    ...(options.overrides ? ['overrides:', options.overrides] : []),
    '',
  ].join('\n');
}

/** `extra` packages (e.g. provenance-guard itself) are published without a marker and get good records. */
export async function createFixtureWorld(extra: FixturePackage[] = []): Promise<FixtureWorld> {
  const registry = await startRegistry();
  const markers = markerDir();
  const published = new Map<string, PublishedPackage>();
  const pub = async (pkg: FixturePackage) => published.set(pkg.name, await registry.publish(pkg));
  await pub(fixture(markers, { name: '@pg-fixture/good', version: '1.0.0' }));
  await pub(fixture(markers, { name: '@pg-fixture/other', version: '1.0.0' }));
  await pub(fixture(markers, { name: '@pg-fixture/bad', version: '1.0.0' }));
  await pub(fixture(markers, { name: '@pg-fixture/mid', version: '1.0.0', dependencies: { '@pg-fixture/bad': '^1.0.0' } }));
  await pub(fixture(markers, { name: '@pg-fixture/parent', version: '1.0.0', dependencies: { '@pg-fixture/mid': '^1.0.0' } }));
  // A command-line tool (for npx): prints its name, and a marker from its postinstall.
  await pub(fixture(markers, { name: '@pg-fixture/tool', version: '1.0.0', manifest: { bin: { 'pg-tool': 'cli.js' } }, files: { 'cli.js': '#!/usr/bin/env node\nconsole.log("pg-tool ran " + process.argv.slice(2).join(" "));\n' } }));
  // A tool whose tree holds the blocked package.
  await pub(fixture(markers, { name: '@pg-fixture/badtool', version: '1.0.0', dependencies: { '@pg-fixture/bad': '^1.0.0' }, manifest: { bin: { 'pg-badtool': 'cli.js' } }, files: { 'cli.js': '#!/usr/bin/env node\nconsole.log("pg-badtool ran");\n' } }));
  for (const pkg of extra) await pub(pkg);

  const feed = await fixtureFeed(published.values());

  return {
    registry,
    markers,
    feedPath: feed.feedPath,
    publicKey: feed.publicKey,
    published,
    rc: (options) => fixturePolicy(feed, options),
    async close() {
      await registry.close();
      rmSync(markers, { recursive: true, force: true });
      rmSync(feed.keysDir, { recursive: true, force: true });
    },
  };
}
