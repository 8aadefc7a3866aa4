/**
 * A bun.lock that means one thing to Bun and another to JSON.parse: a key written twice. Measured
 * with Bun 1.4.4: of two top-level `packages` objects Bun installs from the first (JSON.parse keeps
 * the last), and one install path written twice makes Bun refuse the file ("Duplicate package
 * path"), ignore it and resolve anew. The scanner binds each package to its feed record through
 * the integrity bun.lock pins, and `check` reads bun.lock in CI: both refuse such a file.
 * Here a pull request adds a first `packages` object that pins the bytes the registry (a mirror
 * the attacker controls) serves, and keeps the last one pinning what the feed vouches for.
 * Real Bun against a local verdaccio; the fixture's postinstall leaves a marker.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildFeed } from '../src/feed/build';
import { generateKeyPair } from '../src/feed/keys';
import { initBun } from '../src/init/bun';
import { VERSION } from '../src/version';
import { createBunProject, scannerPackage, type BunProject } from './helpers/bun';
import { runCli } from './helpers/cli';
import { createFixtureWorld, fixturePolicy, goodRecord, FIXTURE_NAMES, type FixtureWorld } from './helpers/install-fixtures';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-bun-twice-');
let world: FixtureWorld;
let project: BunProject | undefined;

beforeAll(async () => {
  world = await createFixtureWorld([scannerPackage(VERSION)]);
}, 120_000);
afterAll(async () => {
  project?.cleanup();
  await world?.close();
});

/** A feed that vouches for every fixture, but for @pg-fixture/good vouches for other bytes (other's). */
async function feedVouchingForOtherBytes(): Promise<{ feedPath: string; publicKey: string }> {
  const dir = tempDir();
  const keys = generateKeyPair(dir);
  const other = world.published.get('@pg-fixture/other')!;
  const records = [...world.published.values()].map((p) => (p.name === '@pg-fixture/good' ? { ...goodRecord(p), integrity: other.integrity } : goodRecord(p)));
  const feedPath = (await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: join(dir, 'provenance.feed') })).path;
  return { feedPath, publicKey: keys.publicKey };
}

test('two `packages` objects in bun.lock: Bun installs from the first, so neither the scanner nor check reads the file', async () => {
  project = createBunProject({ registryUrl: world.registry.url, markers: world.markers, dependencies: { '@pg-fixture/good': '1.0.0' }, trusted: FIXTURE_NAMES, provenancerc: world.rc() });
  initBun(project.dir);
  const p = project;
  expect((await p.bun(['install'])).code).toBe(0);
  // A fresh CI machine: no node_modules, an empty Bun cache (a cached package is not verified again: README).
  rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
  rmSync(p.env.BUN_INSTALL_CACHE_DIR!, { recursive: true, force: true });
  p.clearMarkers();

  const feed = await feedVouchingForOtherBytes();
  writeFileSync(join(p.dir, '.provenancerc'), fixturePolicy(feed));
  const served = world.published.get('@pg-fixture/good')!.integrity;
  const vouched = world.published.get('@pg-fixture/other')!.integrity;
  const lock = readFileSync(join(p.dir, 'bun.lock'), 'utf8');
  const start = lock.indexOf('  "packages": {');
  const end = lock.indexOf('\n  }', start) + '\n  }'.length;
  const packages = lock.slice(start, end);
  expect(packages).toContain(served);
  // The first object pins what the registry serves (Bun verifies against it); the last what the feed vouches for.
  writeFileSync(join(p.dir, 'bun.lock'), `${lock.slice(0, start)}${packages},\n${packages.replace(served, vouched)}${lock.slice(end)}`);

  const r = await p.bun(['install', '--frozen-lockfile']);
  expect(r.output).toMatch(/Duplicate key "packages"/);
  expect(r.code, r.output).not.toBe(0);
  expect(p.installed('@pg-fixture/good'), r.output).toBe(false);
  expect(p.ran()).toEqual([]);
  expect(r.output).toMatch(/bun\.lock: key "packages" written twice in one object \(line \d+, column 3\)/);

  const check = await runCli(p.dir, ['check', '--lockfile', 'bun.lock']);
  expect(check.code, check.stdout + check.stderr).toBe(2);
  expect(check.stderr).toMatch(/ERR_PG_LOCKFILE_PARSE: .*bun\.lock: key "packages" written twice in one object/);
}, 120_000);
