/**
 * Verdict reuse in the Yarn gate (issue 14, "repeat work is free"), with real Yarn 4 against
 * verdaccio: a warm `yarn install --immutable`, with or without node_modules, answers the gate from
 * the verdict stored in the state directory (seen through PROVENANCE_GUARD_TIMING=1);
 * a changed lockfile graph, policy, feed or secret is checked again; the fetch step still binds
 * every tarball to the feed's sha512 and re-verifies a planted cache archive; a blocked package
 * is blocked on every run with nothing installed, run or stored.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FeedRecord } from '../src/types';
import { stateVerdictFile } from '../src/verdict-store';
import { verifiedArchives } from '../plugins/yarn/verified-archives';
import { INTEGRITY_IN_FEED } from '../plugins/yarn/verdict-reuse';
import { buildTestFeed, makeKeys, type TestKeys } from './helpers/feed-fixtures';
import { startRegistry, type PublishedPackage, type TestRegistry } from './helpers/registry';
import { assertFreshBundle, cachedArchives, createYarnProject, markerScript, type YarnProject } from './helpers/yarn';

const GOOD = '@pg-fixture/yr-good';
const BAD = '@pg-fixture/yr-bad';
const REUSED = /provenance-guard timing: verdict reused/;

let registry: TestRegistry;
/** Serves other bytes under GOOD@1.0.0 (a pull request job's registry). */
let impostor: TestRegistry;
let keys: TestKeys;
let serial = 100;
const root = mkdtempSync(join(tmpdir(), 'pg-yarn-reuse-'));
const published = new Map<string, PublishedPackage>();

beforeAll(async () => {
  assertFreshBundle();
  [registry, impostor] = await Promise.all([startRegistry(), startRegistry()]);
  const stray = join(root, 'stray-markers');
  for (const name of [GOOD, BAD]) published.set(name, await registry.publish({ name, version: '1.0.0', scripts: markerScript(name, stray) }));
  await impostor.publish({ name: GOOD, version: '1.0.0', scripts: markerScript('evil', stray), files: { 'evil.js': 'pwned' } });
  keys = makeKeys(join(root, 'keys'));
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), impostor?.close()]);
  rmSync(root, { recursive: true, force: true });
});

async function writeFeed(path: string, weak: readonly string[]): Promise<void> {
  const records = [...published.values()].map((p): FeedRecord => ({
    name: p.name, version: p.version, integrity: p.integrity,
    repository: { url: `https://github.com/pg-fixture/${p.name.split('/')[1]}`, commit: 'a'.repeat(40), status: 'claimed' },
    rebuild: { verdict: weak.includes(p.name) ? 'not-reproducible' : 'reproducible', source: 'oss-rebuild' },
    scorecard: { score: 8 },
  }));
  await buildTestFeed(keys, records, path, { serial: ++serial });
}

function rc(feed: string, mode: 'block' | 'warn'): string {
  return [`mode: ${mode}`, 'feed:', `  source: ${feed}`, `  publicKeys: ["${keys.publicKey}"]`, '  maxAge: 30d', '  offline: true', 'rules:',
    '  repository: { require: claimed, allowedHosts: [github.com] }', '  rebuild: { require: reproducible }', 'unknown: block', ''].join('\n');
}

async function setUp(dependencies: Record<string, string>, mode: 'block' | 'warn' = 'block', options: { cacheFolder?: string } = {}) {
  const feed = join(mkdtempSync(join(root, 'feed-')), 'provenance.feed');
  await writeFeed(feed, [BAD]);
  const p = createYarnProject({ registryUrl: registry.url, dependencies, provenancerc: rc(feed, mode), root, ...options });
  return { p, feed, store: stateVerdictFile(p.env.PROVENANCE_GUARD_STATE_DIR!, 'yarn', p.dir) };
}

const timed = { PROVENANCE_GUARD_TIMING: '1' };
const text = (output: string) => output.replace(/\s+/g, ' ');
const immutable = (p: YarnProject, env: Record<string, string> = {}) => p.yarn(['install', '--immutable'], { ...timed, ...env });

/** The first install resolves and creates node_modules; the verdict is stored then (at exit) or by the next one. */
async function installAndStore(p: YarnProject, store: string): Promise<void> {
  const first = await p.yarn(['install'], timed);
  expect(first.code, first.output).toBe(0);
  if (!existsSync(store)) expect((await immutable(p)).code).toBe(0);
  expect(existsSync(store)).toBe(true);
}

/** yarn.lock made to pin `bad` (with the plugin off): every --immutable run blocks it, nothing of it installed or run, nothing stored. */
async function expectBadBlockedOnEveryRun(p: YarnProject, store: string): Promise<void> {
  expect((await p.yarn(['install', '--mode=update-lockfile'], { PROVENANCE_GUARD_MODE: 'off' })).code).toBe(0);
  for (let run = 0; run < 2; run++) {
    const r = await immutable(p);
    expect(r.code).not.toBe(0);
    expect(r.output).not.toMatch(REUSED);
    expect(text(r.output)).toContain(`${BAD}@1.0.0 is blocked by the provenance policy`);
    expect(p.installed(BAD)).toBe(false);
    expect(p.ran().filter((m) => m.includes('yr-bad'))).toEqual([]);
    expect(existsSync(store)).toBe(false);
  }
}

/** A patch of a fixture's index.js (what `yarn patch-commit` writes). */
const indexPatch = (name: string) => ['diff --git a/index.js b/index.js', '--- a/index.js', '+++ b/index.js', '@@ -1 +1 @@',
  `-module.exports = "${name}@1.0.0";`, '+module.exports = "patched";', ''].join('\n');

describe('Yarn 4: the gate reuses its verdict on a warm --immutable install', () => {
  test('reused when nothing changed; a changed yarn.lock, policy or feed is checked again', async () => {
    const { p, feed, store } = await setUp({ [GOOD]: '^1.0.0' });
    await installAndStore(p, store);
    const warm = await immutable(p);
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toMatch(REUSED);

    // A new feed in which `good` is not reproducible any more: blocked at once.
    await writeFeed(feed, [BAD, GOOD]);
    const newFeed = await immutable(p);
    expect(newFeed.code).not.toBe(0);
    expect(newFeed.output).not.toMatch(REUSED);
    expect(text(newFeed.output)).toContain(`${GOOD}@1.0.0 is blocked by the provenance policy`);
    expect(existsSync(store)).toBe(false);
    await writeFeed(feed, [BAD]);
    expect((await immutable(p)).code).toBe(0);
    expect((await immutable(p)).output).toMatch(REUSED);

    // The policy: warn → block is a new key (the same graph, checked again).
    writeFileSync(join(p.dir, '.provenancerc'), rc(feed, 'block').replace('unknown: block', 'unknown: warn'));
    const newPolicy = await immutable(p);
    expect(newPolicy.code, newPolicy.output).toBe(0);
    expect(newPolicy.output).not.toMatch(REUSED);

    // yarn.lock gains `bad` (resolved with the plugin off): blocked on every run, nothing installed or run, nothing stored.
    p.writePackageJson({ [GOOD]: '^1.0.0', [BAD]: '^1.0.0' });
    await expectBadBlockedOnEveryRun(p, store);
  }, 300_000);

  test('a transient package (file:) is re-read on every install: nothing is stored, and a dependency it gains is checked', async () => {
    const { p, feed, store } = await setUp({ [GOOD]: '^1.0.0' });
    const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    writeFileSync(join(p.dir, '.provenancerc'), `${rc(feed, 'block')}overrides:\n  - { package: local, rules: [source], reason: our own folder, expires: ${expires} }\n`);
    mkdirSync(join(p.dir, 'local'));
    const local = (dependencies: Record<string, string>) => writeFileSync(join(p.dir, 'local', 'package.json'), JSON.stringify({ name: 'local', version: '1.0.0', dependencies }));
    local({});
    p.writePackageJson({ [GOOD]: '^1.0.0', local: 'file:./local' });
    const first = await p.yarn(['install'], timed);
    expect(first.code, first.output).toBe(0);
    for (let run = 0; run < 2; run++) {
      const warm = await immutable(p);
      expect(warm.code, warm.output).toBe(0);
      expect(warm.output).not.toMatch(REUSED);
    }
    expect(existsSync(store)).toBe(false);
    // The folder now asks for `bad`: yarn.lock does not know it yet, Yarn re-reads the folder and would install it.
    local({ [BAD]: '^1.0.0' });
    const r = await p.yarn(['install'], timed);
    expect(r.code, r.output).not.toBe(0);
    expect(text(r.output)).toContain(`${BAD}@1.0.0 is blocked by the provenance policy`);
    expect(p.installed(BAD)).toBe(false);
    expect(p.ran().filter((m) => m.includes('yr-bad'))).toEqual([]);
  }, 300_000);

  test("a patched package (its patch is the project's own file) is reused, and a patched blocked one stays blocked", async () => {
    const spec = (name: string, file: string) => `patch:${name}@npm%3A1.0.0#./${file}`;
    const { p, store } = await setUp({});
    writeFileSync(join(p.dir, 'good.patch'), indexPatch(GOOD));
    p.writePackageJson({ [GOOD]: spec(GOOD, 'good.patch') });
    await installAndStore(p, store);
    expect(readFileSync(join(p.dir, 'node_modules', GOOD, 'index.js'), 'utf8')).toContain('patched');
    const warm = await immutable(p);
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toMatch(REUSED);

    writeFileSync(join(p.dir, 'bad.patch'), indexPatch(BAD));
    p.writePackageJson({ [GOOD]: spec(GOOD, 'good.patch'), [BAD]: spec(BAD, 'bad.patch') });
    await expectBadBlockedOnEveryRun(p, store);
  }, 300_000);

  test("a yarn.lock whose patch entry outlived its source's resolution is not taken as the graph", async () => {
    const name = '@pg-fixture/yr-ranged';
    const stray = join(root, 'stray-markers');
    published.set(name, await registry.publish({ name, version: '1.0.0', scripts: markerScript(name, stray) }));
    const { p, store } = await setUp({});
    writeFileSync(join(p.dir, 'ranged.patch'), indexPatch(name));
    p.writePackageJson({ [name]: `patch:${name}@npm%3A^1.0.0#./ranged.patch` });
    await installAndStore(p, store);
    // A version the feed does not know (unknown: block), then a yarn.lock that no longer pins ^1.0.0 to 1.0.0.
    await registry.publish({ name, version: '1.1.0', scripts: markerScript('ranged-1.1.0', stray) });
    const lock = p.lockfile();
    const edited = lock.replace(`"${name}@npm:^1.0.0":`, `"${name}@npm:1.0.0":`);
    expect(edited).not.toBe(lock);
    writeFileSync(join(p.dir, 'yarn.lock'), edited);
    rmSync(p.markers, { recursive: true, force: true });
    const r = await p.yarn(['install'], timed);
    expect(r.output).not.toMatch(REUSED);
    expect(r.code, r.output).not.toBe(0);
    expect(text(r.output)).toContain(`${name}@1.1.0 is blocked by the provenance policy`);
    expect(readFileSync(join(p.dir, 'node_modules', name, 'package.json'), 'utf8')).toContain('"version": "1.0.0"');
    expect(p.ran()).toEqual([]);
    expect(existsSync(join(stray, 'ranged-1.1.0'))).toBe(false);
  }, 300_000);

  test('an install without node_modules (rm -rf node_modules) reuses the stored verdict, and still binds every tarball', async () => {
    const { p, store } = await setUp({ [GOOD]: '^1.0.0' });
    await installAndStore(p, store);
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    rmSync(p.markers, { recursive: true, force: true });
    const again = await immutable(p);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(REUSED);
    expect(p.installed(GOOD)).toBe(true);
    expect(p.ran()).toEqual([GOOD.replace('/', '_')]);
  }, 300_000);

  test('a tampered store, or one authenticated with another secret, is not used', async () => {
    const { p, store } = await setUp({ [GOOD]: '^1.0.0' });
    await installAndStore(p, store);
    const stored = readFileSync(store, 'utf8');
    const edited = stored.replace(/("integrities":)"[^"]*"/, `$1"sha512-${Buffer.alloc(64, 9).toString('base64')}"`);
    expect(edited).not.toBe(stored);
    // Another expected integrity for good: the MAC no longer matches, so the store is ignored.
    writeFileSync(store, edited);
    const tampered = await immutable(p);
    expect(tampered.code, tampered.output).toBe(0);
    expect(tampered.output).not.toMatch(REUSED);
    expect((await immutable(p)).output).toMatch(REUSED);
    // Another user's (or a pull request's) store: this verdict where another state directory, with a secret of its own, looks.
    const otherCache = join(p.dir, '..', `${p.dir.split('/').pop()}-other-cache`);
    const copied = stateVerdictFile(join(otherCache, 'state'), 'yarn', p.dir);
    mkdirSync(dirname(copied), { recursive: true });
    cpSync(store, copied);
    const other = await immutable(p, { PROVENANCE_GUARD_CACHE_DIR: otherCache, PROVENANCE_GUARD_STATE_DIR: join(otherCache, 'state') });
    expect(other.code, other.output).toBe(0);
    expect(other.output).not.toMatch(REUSED);
  }, 300_000);

  test('warn means warn: a reused verdict prints its warnings again', async () => {
    const { p, store } = await setUp({ [GOOD]: '^1.0.0', [BAD]: '^1.0.0' }, 'warn');
    await installAndStore(p, store);
    const warm = await immutable(p);
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toMatch(REUSED);
    expect(text(warm.output)).toContain(`${BAD}@1.0.0 warns by the provenance policy`);
  }, 300_000);

  test('a planted PR cache comes with its own yarn.lock: not the stored state, so checked in full, and its archive refused', async () => {
    // The attacker's job installed other bytes under good@1.0.0 and left its cache and yarn.lock.
    const attacker = createYarnProject({ registryUrl: impostor.url, dependencies: { [GOOD]: '1.0.0' }, plugin: false, root });
    expect((await attacker.yarn(['install'])).code).toBe(0);
    const attackerCache = join(attacker.env.YARN_GLOBAL_FOLDER!, '..', 'yarn-cache');
    expect(cachedArchives(attacker).length).toBe(1);

    // Our project: a verdict stored from an honest install with its own cache…
    const { p, store } = await setUp({ [GOOD]: '1.0.0' });
    await installAndStore(p, store);
    expect((await immutable(p)).output).toMatch(REUSED);
    // …then the planted cache and its yarn.lock are restored (the same graph, good@1.0.0, but other yarn.lock bytes).
    writeFileSync(join(p.dir, 'yarn.lock'), attacker.lockfile());
    writeFileSync(join(p.dir, '.yarnrc.yml'), readFileSync(join(p.dir, '.yarnrc.yml'), 'utf8').replace(/cacheFolder: .*/, `cacheFolder: "${attackerCache}"`));
    const r = await immutable(p);
    expect(r.output).not.toMatch(REUSED);
    expect(r.code, r.output).not.toBe(0);
    expect(text(r.output)).toMatch(/yr-good@1\.0\.0 is blocked by the provenance policy: integrity: the archive in Yarn's cache .* is not the one built from the verified tarball/);
    expect(readFileSync(join(p.dir, 'node_modules', GOOD, 'package.json'), 'utf8')).not.toContain('evil');
    expect(existsSync(join(p.dir, 'node_modules', GOOD, 'evil.js'))).toBe(false);
    expect(p.ran()).not.toContain('evil');
    expect(existsSync(join(root, 'stray-markers', 'evil'))).toBe(false);
  }, 300_000);

  test("the stored verdict remembers each archive the fetch step verified: used without the machine's records, never for another archive", async () => {
    const { p, store } = await setUp({ [GOOD]: '1.0.0' });
    await installAndStore(p, store);
    const attachment = JSON.parse(readFileSync(store, 'utf8').split('\n')[2]!).attachment as unknown;
    const archive = cachedArchives(p).find((f) => f.includes('yr-good'))!;
    const yarnHash = /checksum: \S+\/([0-9a-f]{128})/.exec(p.lockfile())![1];
    // The archive without the sha512 it was verified against: the fetch step looks that up in the feed when it needs it.
    expect(attachment).toEqual({ count: 1, ids: `${GOOD}@1.0.0`, integrities: '', archives: yarnHash!.slice(0, 64) });
    const reinstall = (env: Record<string, string> = {}) => {
      for (const dir of [join('node_modules', GOOD), '.yarn/install-state.gz']) rmSync(join(p.dir, dir), { recursive: true, force: true });
      rmSync(p.markers, { recursive: true, force: true });
      return immutable(p, env);
    };
    // Without the machine's records: the archive Yarn hashed is the one the verdict remembers, so
    // it is neither downloaded and rebuilt to verify it nor recorded again.
    const records = join(p.env.PROVENANCE_GUARD_STATE_DIR!, 'yarn-archives');
    rmSync(records, { recursive: true, force: true });
    const remembered = await reinstall();
    expect(remembered.code, remembered.output).toBe(0);
    expect(remembered.output).toMatch(REUSED);
    expect(p.ran()).toEqual(['@pg-fixture_yr-good']);
    expect(existsSync(records)).toBe(false);
    // Another archive handed over under yarn.lock's checksum (checksumBehavior: ignore, so Yarn does not hash it): refused.
    const attacker = createYarnProject({ registryUrl: impostor.url, dependencies: { [GOOD]: '1.0.0' }, root, plugin: false });
    expect((await attacker.yarn(['install'])).code).toBe(0);
    writeFileSync(join(p.env.YARN_GLOBAL_FOLDER!, '..', 'yarn-cache', archive), readFileSync(join(attacker.env.YARN_GLOBAL_FOLDER!, '..', 'yarn-cache', cachedArchives(attacker)[0]!)));
    const swapped = await reinstall({ YARN_CHECKSUM_BEHAVIOR: 'ignore' });
    expect(swapped.output).toMatch(REUSED);
    expect(swapped.code, swapped.output).not.toBe(0);
    expect(text(swapped.output)).toMatch(/yr-good@1\.0\.0 is blocked by the provenance policy: integrity: the archive in Yarn's cache .* is not the one built from the verified tarball/);
    expect(p.installed(GOOD)).toBe(false);
    expect(p.ran()).toEqual([]);
    expect(existsSync(join(root, 'stray-markers', 'evil'))).toBe(false);
  }, 300_000);

  test("an archive gone from Yarn's cache is downloaded and bound to the feed's sha512, which the stored verdict does not carry, and recorded under it", async () => {
    const { p, store } = await setUp({ [GOOD]: '1.0.0' });
    await installAndStore(p, store);
    for (const archive of cachedArchives(p)) rmSync(join(p.env.YARN_GLOBAL_FOLDER!, '..', 'yarn-cache', archive));
    rmSync(join(p.env.YARN_GLOBAL_FOLDER!, 'cache'), { recursive: true, force: true });
    const records = join(p.env.PROVENANCE_GUARD_STATE_DIR!, 'yarn-archives');
    rmSync(records, { recursive: true, force: true });
    rmSync(join(p.dir, 'node_modules', GOOD), { recursive: true, force: true });
    rmSync(p.markers, { recursive: true, force: true });
    const r = await immutable(p);
    expect(r.output).toMatch(REUSED);
    expect(r.code, r.output).toBe(0);
    expect(p.installed(GOOD)).toBe(true);
    const checksum = /checksum: (\S+)/.exec(p.lockfile())![1]!;
    const id = `${GOOD}@1.0.0`;
    expect(verifiedArchives(records).has(checksum, id, published.get(GOOD)!.integrity)).toBe(true);
    expect(verifiedArchives(records).has(checksum, id, INTEGRITY_IN_FEED)).toBe(false);
  }, 300_000);

  test('with a reused verdict the fetch step still compares the downloaded bytes with the feed (a tampered registry)', async () => {
    const name = '@pg-fixture/yr-mirror';
    const stray = join(root, 'stray-markers');
    published.set(name, await registry.publish({ name, version: '1.0.0', scripts: markerScript(name, stray) }));
    const { p, store } = await setUp({ [name]: '1.0.0' });
    await installAndStore(p, store);
    expect((await immutable(p)).output).toMatch(REUSED);
    // The registry now serves other bytes at the same URL, and this machine has neither the archive nor its record.
    const evil = await impostor.publish({ name, version: '1.0.0', scripts: markerScript('evil-mirror', stray), files: { 'evil.js': 'pwned' } });
    const tarball = join(registry.storage, name, 'yr-mirror-1.0.0.tgz');
    expect(existsSync(tarball)).toBe(true);
    writeFileSync(tarball, readFileSync(join(impostor.storage, name, 'yr-mirror-1.0.0.tgz')));
    expect(evil.integrity).not.toBe(published.get(name)!.integrity);
    // Neither in the project's cache nor in Yarn's mirror (whose archive the stored verdict remembers as verified).
    for (const archive of cachedArchives(p)) rmSync(join(p.env.YARN_GLOBAL_FOLDER!, '..', 'yarn-cache', archive));
    rmSync(join(p.env.YARN_GLOBAL_FOLDER!, 'cache'), { recursive: true, force: true });
    rmSync(join(p.env.PROVENANCE_GUARD_STATE_DIR!, 'yarn-archives'), { recursive: true, force: true });
    rmSync(join(p.dir, 'node_modules', name), { recursive: true, force: true });
    rmSync(p.markers, { recursive: true, force: true });

    const r = await immutable(p);
    expect(r.output).toMatch(REUSED);
    expect(r.code, r.output).not.toBe(0);
    // The guard's own refusal (from the expectation the stored verdict kept), before Yarn's checksum would be compared.
    expect(text(r.output)).toContain(`${name}@1.0.0 is blocked by the provenance policy: integrity: the downloaded tarball's integrity ${evil.integrity} does not match the feed's ${published.get(name)!.integrity}`);
    expect(p.installed(name)).toBe(false);
    expect(p.ran()).toEqual([]);
    expect(existsSync(join(stray, 'evil-mirror'))).toBe(false);
  }, 300_000);
});
