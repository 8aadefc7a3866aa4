/**
 * Issue 8 for Yarn 4.18.1 against a real verdaccio: the bytes Yarn fetches are bound to the
 * feed's sha512 offline (item 2), also when Yarn's cache is warm or was planted by an attacker,
 * and `yarn dlx` from a block-mode project is governed by that project's policy (item 6).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { verifiedArchives } from '../plugins/yarn/verified-archives';
import type { FeedRecord } from '../src/types';
import { buildTestFeed, makeKeys } from './helpers/feed-fixtures';
import { startRegistry, type TestRegistry } from './helpers/registry';
import { assertFreshBundle, cachedArchives, createYarnProject, markerScript, type YarnProject } from './helpers/yarn';

let registry: TestRegistry;
/** A second registry serving other bytes under the same name@version (a mirror, or a PR job's registry). */
let impostor: TestRegistry;
let rc: string;
/** The feed's integrity for @pg-fixture/good@1.0.0 (what a planted record would name). */
let goodIntegrity: string;
const root = mkdtempSync(join(tmpdir(), 'pg-yarn-fetch-'));
const GOOD = { repository: { url: 'https://github.com/pg-fixture/good', commit: 'a'.repeat(40), status: 'claimed' }, rebuild: { verdict: 'reproducible', source: 'oss-rebuild' }, scorecard: { score: 8 } } as const;

beforeAll(async () => {
  assertFreshBundle();
  [registry, impostor] = await Promise.all([startRegistry(), startRegistry()]);
  const stray = join(root, 'stray-markers');
  const records: FeedRecord[] = [];
  // Two platform packages, one for this machine and one for another (like esbuild's), and their parent.
  const platform: Record<string, Record<string, unknown>> = { '@pg-fixture/native-here': { os: [process.platform] }, '@pg-fixture/native-other': { os: [process.platform === 'win32' ? 'linux' : 'win32'] } };
  for (const name of ['@pg-fixture/good', '@pg-fixture/tampered', '@pg-fixture/native-here', '@pg-fixture/native-other', '@pg-fixture/native']) {
    const optionalDependencies = name === '@pg-fixture/native' ? { '@pg-fixture/native-here': '1.0.0', '@pg-fixture/native-other': '1.0.0' } : undefined;
    const pkg = await registry.publish({ name, version: '1.0.0', scripts: markerScript(name, stray), ...(platform[name] ? { manifest: platform[name] } : {}), ...(optionalDependencies ? { optionalDependencies } : {}) });
    // The feed attests other bytes for `tampered` than the registry serves.
    const integrity = name === '@pg-fixture/tampered' ? 'sha512-' + Buffer.alloc(64, 7).toString('base64') : pkg.integrity;
    records.push({ name, version: '1.0.0', integrity, ...GOOD } as FeedRecord);
    if (name === '@pg-fixture/good') goodIntegrity = integrity;
  }
  await impostor.publish({ name: '@pg-fixture/good', version: '1.0.0', scripts: markerScript('evil', stray), files: { 'evil.js': 'pwned' } });
  const keys = makeKeys(join(root, 'keys'));
  const feed = await buildTestFeed(keys, records, join(root, 'verdicts.feed'));
  rc = ['mode: block', 'feed:', `  source: ${feed}`, `  publicKeys: ["${keys.publicKey}"]`, '  maxAge: 30d', '  offline: true', 'rules:', '  repository: { require: claimed, allowedHosts: [github.com] }', 'unknown: block', ''].join('\n');
});

afterAll(async () => {
  await Promise.all([registry?.close(), impostor?.close()]);
  rmSync(root, { recursive: true, force: true });
});

function project(dependencies: Record<string, string>, options: { linker?: 'pnp' | 'node-modules'; plugin?: boolean; cacheFolder?: string; registryUrl?: string } = {}): YarnProject {
  return createYarnProject({
    registryUrl: options.registryUrl ?? registry.url,
    dependencies,
    provenancerc: rc,
    root,
    ...(options.linker ? { nodeLinker: options.linker } : {}),
    ...(options.plugin === false ? { plugin: false } : {}),
    ...(options.cacheFolder ? { cacheFolder: options.cacheFolder } : {}),
  });
}

const cacheOf = (p: YarnProject) => join(p.env.YARN_GLOBAL_FOLDER!, '..', 'yarn-cache');
const text = (output: string) => output.replace(/\s+/g, ' ');

function expectNothingOf(p: YarnProject, name: string): void {
  expect(p.installed(name)).toBe(false);
  expect(p.ran()).toEqual([]);
  expect(existsSync(join(p.dir, '.pnp.cjs'))).toBe(false);
  expect(existsSync(join(p.dir, 'node_modules', name))).toBe(false);
}

describe('Yarn: the fetched bytes are bound to the feed (offline)', () => {
  test.each(['node-modules', 'pnp'] as const)('%s: a tarball whose sha512 is not the feed\'s never reaches the cache, the linker or a script', async (linker) => {
    const p = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/tampered': '^1.0.0' }, { linker });
    const r = await p.yarn(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(text(r.output)).toMatch(/@pg-fixture\/tampered@1\.0\.0 is blocked by the provenance policy: integrity: the downloaded tarball's integrity sha512-\S+ does not match the feed's/);
    expect(r.output).toContain('No override can waive integrity');
    expectNothingOf(p, '@pg-fixture/tampered');
    expect(cachedArchives(p).filter((f) => f.includes('tampered'))).toEqual([]);

    // Passing packages are not refused: the same project without the tampered one installs and runs.
    p.writePackageJson({ '@pg-fixture/good': '^1.0.0' });
    const ok = await p.yarn(['install']);
    expect(ok.code, ok.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture_good']);
    expect(existsSync(join(p.dir, linker === 'pnp' ? '.pnp.cjs' : 'node_modules/@pg-fixture/good/package.json'))).toBe(true);
  });

  test.each(['node-modules', 'pnp'] as const)("%s: a package for this platform is verified and installs, cold and warm; another platform's is not fetched", async (linker) => {
    // Yarn hides the checksum of a platform package (it may be absent on another machine) and mocks
    // the other platform's: neither may fail the fetch step, and the one installed is still bound.
    const p = project({ '@pg-fixture/native': '1.0.0' }, { linker });
    const cold = await p.yarn(['install']);
    expect(cold.code, cold.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture_native', '@pg-fixture_native-here']);
    expect(cachedArchives(p).filter((f) => f.includes('native-other'))).toEqual([]);
    for (const dir of ['node_modules', '.pnp.cjs', '.yarn/install-state.gz']) rmSync(join(p.dir, dir), { recursive: true, force: true });
    rmSync(p.markers, { recursive: true, force: true });
    const warm = await p.yarn(['install', '--immutable'], { YARN_ENABLE_OFFLINE_MODE: '1', YARN_NPM_REGISTRY_SERVER: 'http://127.0.0.1:9' });
    expect(warm.code, warm.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture_native', '@pg-fixture_native-here']);
  });

  test('the plugin runs from the V8 code cache an install made; a yarn command without an install makes none', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' });
    const timing = { PROVENANCE_GUARD_TIMING: '1' };
    // No machine secret before the first install that stores a verdict: nothing cached (that install makes the secret).
    for (const args of [['install'], ['install', '--immutable']]) {
      const first = await p.yarn(args, timing);
      expect(first.code, first.output).toBe(0);
      expect(first.output).toMatch(/code cache yarn-plugin off/);
    }
    const config = await p.yarn(['config', 'get', 'enableScripts'], timing);
    expect(config.output, config.output).toMatch(/code cache yarn-plugin miss/);
    const warm = await p.yarn(['install', '--immutable'], timing);
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toMatch(/code cache yarn-plugin miss/);
    const again = await p.yarn(['install', '--immutable'], timing);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/code cache yarn-plugin hit/);
    expect(again.output).toMatch(/provenance-guard timing: verdict reused/);
  });

  test('warn mode: the mismatch is a warning and the install goes on', async () => {
    const p = project({ '@pg-fixture/tampered': '^1.0.0' });
    const r = await p.yarn(['install'], { PROVENANCE_GUARD_MODE: 'warn' });
    expect(r.code, r.output).toBe(0);
    expect(text(r.output)).toMatch(/@pg-fixture\/tampered@1\.0\.0 warns by the provenance policy: integrity: the downloaded tarball's integrity/);

    // Nor remembered by the stored verdict: the next warn install (its verdict reused) warns again.
    for (const run of [1, 2]) {
      for (const dir of ['node_modules/@pg-fixture/tampered', '.yarn/install-state.gz']) rmSync(join(p.dir, dir), { recursive: true, force: true });
      const again = await p.yarn(['install', '--immutable'], { PROVENANCE_GUARD_MODE: 'warn', PROVENANCE_GUARD_TIMING: '1' });
      expect(again.code, again.output).toBe(0);
      if (run === 2) expect(again.output).toMatch(/provenance-guard timing: verdict reused/);
      expect(text(again.output)).toMatch(/@pg-fixture\/tampered@1\.0\.0 warns by the provenance policy: integrity: the downloaded tarball's integrity/);
    }

    // What warn let in is not recorded as verified: back in block mode, the archive it left in Yarn's cache is refused.
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    rmSync(p.markers, { recursive: true, force: true });
    const blocked = await p.yarn(['install', '--immutable']);
    expect(blocked.code, blocked.output).not.toBe(0);
    expect(text(blocked.output)).toMatch(/@pg-fixture\/tampered@1\.0\.0 is blocked by the provenance policy: integrity: the downloaded tarball's integrity sha512-\S+ does not match the feed's/);
    expectNothingOf(p, '@pg-fixture/tampered');
  });

  test('a warm cache filled without the guard is verified again before it is used', async () => {
    const unguarded = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/tampered': '^1.0.0' }, { plugin: false });
    expect((await unguarded.yarn(['install'])).code).toBe(0);
    const lock = unguarded.lockfile();
    for (const linker of ['node-modules', 'pnp'] as const) {
      const p = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/tampered': '^1.0.0' }, { cacheFolder: cacheOf(unguarded), linker });
      writeFileSync(join(p.dir, 'yarn.lock'), lock);
      const r = await p.yarn(['install', '--immutable']);
      expect(r.code, r.output).not.toBe(0);
      expect(text(r.output)).toMatch(/@pg-fixture\/tampered@1\.0\.0 is blocked by the provenance policy: integrity: the downloaded tarball's integrity/);
      expectNothingOf(p, '@pg-fixture/tampered');
      expect(p.lockfile()).toBe(lock);
    }
    // Under warn that archive installs with a warning, and is not recorded as verified: block mode refuses it again.
    const w = project({ '@pg-fixture/tampered': '^1.0.0' }, { cacheFolder: cacheOf(unguarded) });
    writeFileSync(join(w.dir, 'yarn.lock'), lock);
    const warned = await w.yarn(['install'], { PROVENANCE_GUARD_MODE: 'warn' });
    expect(warned.code, warned.output).toBe(0);
    expect(text(warned.output)).toMatch(/@pg-fixture\/tampered@1\.0\.0 warns by the provenance policy: integrity: the downloaded tarball's integrity/);
    rmSync(join(w.dir, 'node_modules'), { recursive: true, force: true });
    rmSync(w.markers, { recursive: true, force: true });
    const refused = await w.yarn(['install', '--immutable']);
    expect(refused.code, refused.output).not.toBe(0);
    expectNothingOf(w, '@pg-fixture/tampered');
    // An archive Yarn built from the attested bytes is accepted (the rebuilt zip is identical).
    const q = project({ '@pg-fixture/good': '^1.0.0' }, { cacheFolder: cacheOf(unguarded) });
    const r = await q.yarn(['install']);
    expect(r.code, r.output).toBe(0);
    expect(q.ran()).toEqual(['@pg-fixture_good']);
  });

  test('a planted cache (a PR job\'s cache with its own yarn.lock checksum) is refused; the verified record is the guard\'s own', async () => {
    // The attacker's job installed other bytes under @pg-fixture/good@1.0.0 and left its cache and lockfile.
    const attacker = project({ '@pg-fixture/good': '1.0.0' }, { plugin: false, registryUrl: impostor.url });
    expect((await attacker.yarn(['install'])).code).toBe(0);
    const plantedLock = attacker.lockfile();
    const planted = cachedArchives(attacker);
    expect(planted.length).toBe(1);

    const p = project({ '@pg-fixture/good': '1.0.0' }, { cacheFolder: cacheOf(attacker) });
    writeFileSync(join(p.dir, 'yarn.lock'), plantedLock);
    const r = await p.yarn(['install', '--immutable']);
    expect(r.code, r.output).not.toBe(0);
    expect(text(r.output)).toMatch(/@pg-fixture\/good@1\.0\.0 is blocked by the provenance policy: integrity: the archive in Yarn's cache .* is not the one built from the verified tarball/);
    expectNothingOf(p, '@pg-fixture/good');
    expect(existsSync(join(root, 'stray-markers', 'evil'))).toBe(false);

    // The PR job's cache of the guard's own cache directory is restored too, with the record the guard would write for that archive: still refused (records live in the state directory, which a CI cache does not carry).
    const archive = createHash('sha512').update(readFileSync(join(cacheOf(attacker), planted[0]!))).digest('hex');
    verifiedArchives(join(p.env.PROVENANCE_GUARD_CACHE_DIR!, 'yarn-archives')).add(archive, '@pg-fixture/good@1.0.0', goodIntegrity);
    const withRecords = await p.yarn(['install', '--immutable']);
    expect(withRecords.code, withRecords.output).not.toBe(0);
    expect(text(withRecords.output)).toMatch(/@pg-fixture\/good@1\.0\.0 is blocked by the provenance policy: integrity: the archive in Yarn's cache .* is not the one built from the verified tarball/);
    expectNothingOf(p, '@pg-fixture/good');
    expect(existsSync(join(root, 'stray-markers', 'evil'))).toBe(false);

    // A verified fetch records the archive outside Yarn's cache; the next install trusts that cache entry offline.
    const fresh = project({ '@pg-fixture/good': '1.0.0' });
    expect((await fresh.yarn(['install'])).code).toBe(0);
    const records = join(fresh.env.PROVENANCE_GUARD_STATE_DIR!, 'yarn-archives');
    expect(readdirSync(records).length).toBe(1);
    rmSync(join(fresh.dir, 'node_modules'), { recursive: true, force: true });
    const again = await fresh.yarn(['install', '--immutable'], { YARN_ENABLE_OFFLINE_MODE: '1', YARN_NPM_REGISTRY_SERVER: 'http://127.0.0.1:9' });
    expect(again.code, again.output).toBe(0);
    // Without this machine's state (a new machine restoring that cache: no record, and no stored
    // verdict naming the archive), offline cannot verify it: fail closed.
    rmSync(fresh.env.PROVENANCE_GUARD_STATE_DIR!, { recursive: true, force: true });
    rmSync(join(fresh.dir, 'node_modules'), { recursive: true, force: true });
    const unverified = await fresh.yarn(['install', '--immutable'], { YARN_ENABLE_OFFLINE_MODE: '1', YARN_NPM_REGISTRY_SERVER: 'http://127.0.0.1:9' });
    expect(unverified.code, unverified.output).not.toBe(0);
    expect(text(unverified.output)).toContain("the archive in Yarn's cache was not verified on this machine");
  });
  test("an archive swapped under a verified archive's name is refused where Yarn does not hash it (checksumBehavior: ignore, a platform package)", async () => {
    const attacker = project({ '@pg-fixture/good': '1.0.0' }, { plugin: false, registryUrl: impostor.url });
    expect((await attacker.yarn(['install'])).code).toBe(0);
    const evil = readFileSync(join(cacheOf(attacker), cachedArchives(attacker)[0]!));

    const p = project({ '@pg-fixture/good': '1.0.0', '@pg-fixture/native': '1.0.0' });
    expect((await p.yarn(['install'])).code).toBe(0);
    const swap = (name: string) => {
      const file = cachedArchives(p).find((f) => f.startsWith(`@pg-fixture-${name}-npm-`))!;
      writeFileSync(join(cacheOf(p), file), evil);
    };
    const reinstall = (env: Record<string, string> = {}) => {
      for (const dir of ['node_modules', '.yarn/install-state.gz']) rmSync(join(p.dir, dir), { recursive: true, force: true });
      rmSync(p.markers, { recursive: true, force: true });
      return p.yarn(['install', '--immutable'], env);
    };
    // Yarn itself refuses the swapped archive under its default checksumBehavior (throw); under `ignore` it hands it over with yarn.lock's checksum.
    swap('good');
    const ignored = await reinstall({ YARN_CHECKSUM_BEHAVIOR: 'ignore' });
    expect(ignored.code, ignored.output).not.toBe(0);
    expect(text(ignored.output)).toMatch(/@pg-fixture\/good@1\.0\.0 is blocked by the provenance policy: integrity: the archive in Yarn's cache .* is not the one built from the verified tarball/);
    expectNothingOf(p, '@pg-fixture/good');
    expect(existsSync(join(root, 'stray-markers', 'evil'))).toBe(false);

    // A package for this platform only: Yarn never hashes its archive, whatever checksumBehavior says.
    rmSync(join(p.dir, 'yarn.lock'));
    p.writePackageJson({ '@pg-fixture/native': '1.0.0' });
    expect((await p.yarn(['install'])).code).toBe(0);
    swap('native-here');
    const platform = await reinstall();
    expect(platform.code, platform.output).not.toBe(0);
    expect(text(platform.output)).toMatch(/@pg-fixture\/native-here@1\.0\.0 is blocked by the provenance policy: integrity: the archive in Yarn's cache .* is not the one built from the verified tarball/);
    expect(p.ran()).toEqual([]);
    expect(existsSync(join(root, 'stray-markers', 'evil'))).toBe(false);
  });
});

describe('Yarn: yarn dlx from a block-mode project', () => {
  test('the temporary project is governed by the invoking project\'s policy', async () => {
    const p = project({});
    const r = await p.yarn(['dlx', '-p', '@pg-fixture/tampered', 'node', '-e', '1']);
    expect(r.code, r.output).not.toBe(0);
    expect(text(r.output)).toContain('@pg-fixture/tampered@1.0.0 is blocked by the provenance policy');
    expect(r.output).not.toContain('installing unchecked');
    expect(p.ran()).toEqual([]);
  });
});
