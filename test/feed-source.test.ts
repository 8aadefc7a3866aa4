import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFeed } from '../src/feed/reader';
import { resolveFeedSource } from '../src/feed/source';
import { startRegistry, type TestRegistry } from './helpers/registry';
import { buildTestFeed, feedRejection as rejection, makeKeys, sampleRecords, tempDir, type TestKeys } from './helpers/feed-fixtures';
import { startFeedServer, type Behaviour } from './helpers/feed-server';

const serve = (body: Buffer, etag: string): Behaviour => ({ kind: 'serve', body, etag, lastModified: new Date('2026-11-01T00:00:00Z').toUTCString() });
const serveFeed = (body: Buffer) => startFeedServer(serve(body, '"v1"'), { path: '/feeds/provenance.feed' });

describe('feed source: paths', () => {
  it('resolves a file, a directory holding provenance.feed, and relative paths from rootDir', async () => {
    const keys = makeKeys();
    const root = tempDir();
    mkdirSync(join(root, '.provenance', 'feed'), { recursive: true });
    const file = await buildTestFeed(keys, sampleRecords(3), join(root, '.provenance', 'feed'));
    const base = { rootDir: root, offline: false, cacheDir: tempDir(), stateDir: tempDir(), publicKeys: [keys.publicKey] };
    expect(await resolveFeedSource({ ...base, source: './.provenance/feed' })).toBe(file);
    expect(await resolveFeedSource({ ...base, source: '.provenance/feed' })).toBe(file);
    expect(await resolveFeedSource({ ...base, source: file })).toBe(file);
    expect(await resolveFeedSource({ ...base, source: join(root, '.provenance') + '/feed/provenance.feed', offline: true })).toBe(file);
    expect((await rejection(resolveFeedSource({ ...base, source: './missing/feed' }))).message).toBe(`feed not found: ${join(root, 'missing/feed')}`);
    expect((await rejection(resolveFeedSource({ ...base, source: './.provenance' }))).message).toMatch(/has no provenance\.feed/);
  });
});

describe('feed source: https (local server)', () => {
  let keys: TestKeys;
  let feedBytes: Buffer;
  let newerBytes: Buffer;
  beforeAll(async () => {
    keys = makeKeys();
    feedBytes = readFileSync(await buildTestFeed(keys, sampleRecords(50), join(tempDir(), 'a.feed'), { serial: 10 }));
    newerBytes = readFileSync(await buildTestFeed(keys, sampleRecords(60), join(tempDir(), 'b.feed'), { serial: 11 }));
  });

  it('downloads, revalidates with ETag, updates, and falls back to the last good copy', async () => {
    const server = await serveFeed(feedBytes);
    const statuses = () => server.seen.map((r) => r.status);
    const cache = tempDir();
    const warnings: string[] = [];
    const options = { source: `${server.url}/feeds/provenance.feed`, rootDir: tempDir(), offline: false, cacheDir: cache, stateDir: cache, publicKeys: [keys.publicKey], warn: (m: string) => warnings.push(m) };
    try {
      const path = await resolveFeedSource(options);
      expect(path.startsWith(join(cache, 'feeds'))).toBe(true);
      expect(readFileSync(path).equals(feedBytes)).toBe(true);
      const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: cache });
      expect(feed.lookup('pkg-1', '1.1.1')?.name).toBe('pkg-1');
      feed.close();

      // Conditional request: 304, same file.
      expect(await resolveFeedSource(options)).toBe(path);
      expect(statuses()).toEqual([200, 304]);
      expect(server.seen[1]!.headers['if-none-match']).toBe('"v1"');
      expect(server.seen[1]!.headers['if-modified-since']).toBe(new Date('2026-11-01T00:00:00Z').toUTCString());

      // A new version on the server replaces the cached one.
      server.behaviour = serve(newerBytes, '"v2"');
      expect(readFileSync(await resolveFeedSource(options)).equals(newerBytes)).toBe(true);
      expect(statuses().at(-1)).toBe(200);

      // Server errors and garbage keep the last good copy, with a warning.
      server.behaviour = { kind: 'status', status: 500 };
      expect(readFileSync(await resolveFeedSource(options)).equals(newerBytes)).toBe(true);
      expect(warnings.at(-1)).toMatch(/could not update the feed from http:\/\/127\.0\.0\.1:\d+\/feeds\/provenance\.feed: GET .* answered 500/);
      server.behaviour = serve(Buffer.from('<html>captive portal</html>'), '"v3"');
      expect(readFileSync(await resolveFeedSource(options)).equals(newerBytes)).toBe(true);
      expect(warnings.at(-1)).toMatch(/is not a provenance-guard feed/);
      expect(readdirSync(join(path, '..')).sort()).toEqual(['meta.json', 'provenance.feed']);

      // An older feed on the server does not replace a newer cached copy.
      server.behaviour = serve(feedBytes, '"v0"');
      expect(readFileSync(await resolveFeedSource(options)).equals(newerBytes)).toBe(true);
      expect(warnings.at(-1)).toMatch(/has serial 10, older than serial 11 already accepted on this machine \(rollback refused.*\[ERR_PG_FEED_ROLLBACK\]; using the last good copy/);

      // Offline: the cache only, no request.
      const before = server.requests;
      expect(readFileSync(await resolveFeedSource({ ...options, offline: true })).equals(newerBytes)).toBe(true);
      expect(server.requests).toBe(before);
    } finally {
      await server.close();
    }
    // Server down: last good copy, warning on stderr by default.
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const { warn: _warn, ...noWarn } = options;
      expect(readFileSync(await resolveFeedSource(noWarn)).equals(newerBytes)).toBe(true);
    } finally {
      process.stderr.write = original;
    }
    expect(written.join('')).toMatch(/provenance-guard: could not update the feed from http:\/\/127\.0\.0\.1:\d+\/feeds\/provenance\.feed: fetch failed .*using the last good copy, fetched/);
  });

  it('serves a directory URL, and refuses offline or unreachable without a cached copy', async () => {
    const server = await serveFeed(feedBytes);
    try {
      const cache = tempDir();
      const path = await resolveFeedSource({ source: `${server.url}/feeds/`, rootDir: tempDir(), offline: false, cacheDir: cache, stateDir: cache, publicKeys: [keys.publicKey] });
      expect(readFileSync(path).equals(feedBytes)).toBe(true);
      expect(server.seen[0]!.path).toBe('/feeds/provenance.feed');
      const offline = await rejection(resolveFeedSource({ source: `${server.url}/other/provenance.feed`, rootDir: tempDir(), offline: true, cacheDir: cache, stateDir: cache , publicKeys: [keys.publicKey] }));
      expect(offline.message).toMatch(/offline, and no cached copy of the feed from http:\/\/127\.0\.0\.1:\d+\/other\/provenance\.feed/);
      expect(server.requests).toBe(1);
      const missing = await rejection(resolveFeedSource({ source: `${server.url}/other/provenance.feed`, rootDir: tempDir(), offline: false, cacheDir: cache, stateDir: cache , publicKeys: [keys.publicKey] }));
      expect(missing.message).toMatch(/answered 404/);
    } finally {
      await server.close();
    }
    const down = await rejection(resolveFeedSource({ source: `${server.url}/feeds/provenance.feed`, rootDir: tempDir(), offline: false, cacheDir: tempDir(), stateDir: tempDir() , publicKeys: [keys.publicKey] }));
    expect(down.message).toMatch(/cannot download the feed from .*ECONNREFUSED/);
    const plain = await rejection(resolveFeedSource({ source: 'http://feeds.example.com/provenance.feed', rootDir: tempDir(), offline: false, cacheDir: tempDir(), stateDir: tempDir() , publicKeys: [keys.publicKey] }));
    expect(plain.message).toMatch(/uses plain http; use https/);
  });
});

describe('feed source: npm package (local registry)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('fetches provenance.feed from a published package, follows new versions, and keeps the last good copy', async () => {
    const keys = makeKeys();
    const v1 = readFileSync(await buildTestFeed(keys, sampleRecords(40), join(tempDir(), 'a.feed'), { serial: 20 }), 'latin1');
    const v2 = readFileSync(await buildTestFeed(keys, sampleRecords(45), join(tempDir(), 'b.feed'), { serial: 21 }), 'latin1');
    await registry.publish({ name: '@pg-fixture/provenance-feed', version: '1.0.0', files: { 'provenance.feed': Buffer.from(v1, 'latin1') } });
    const root = tempDir();
    writeFileSync(join(root, '.npmrc'), `registry=${registry.url}/\n`);
    const cache = tempDir();
    const warnings: string[] = [];
    const options = { source: '@pg-fixture/provenance-feed@^1', rootDir: root, offline: false, cacheDir: cache, stateDir: cache, env: { HOME: root }, publicKeys: [keys.publicKey], warn: (m: string) => warnings.push(m) };

    const path = await resolveFeedSource(options);
    expect(readFileSync(path, 'latin1')).toBe(v1);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: cache });
    expect(feed.header.serial).toBe(20);
    expect(feed.lookup('pkg-2', '1.2.2')?.name).toBe('pkg-2');
    feed.close();

    await registry.publish({ name: '@pg-fixture/provenance-feed', version: '1.1.0', files: { 'provenance.feed': Buffer.from(v2, 'latin1') } });
    expect(readFileSync(await resolveFeedSource(options), 'latin1')).toBe(v2);
    expect(readFileSync(await resolveFeedSource({ ...options, offline: true }), 'latin1')).toBe(v2);

    // The registry from npm_config_registry works too (no .npmrc).
    const otherRoot = tempDir();
    const viaEnv = await resolveFeedSource({ ...options, rootDir: otherRoot, cacheDir: tempDir(), stateDir: tempDir(), env: { HOME: otherRoot, npm_config_registry: registry.url } });
    expect(readFileSync(viaEnv, 'latin1')).toBe(v2);

    const missing = await rejection(resolveFeedSource({ ...options, source: '@pg-fixture/no-such-feed@^1', cacheDir: tempDir(), stateDir: tempDir() }));
    expect(missing.message).toMatch(/cannot fetch the feed from npm package @pg-fixture\/no-such-feed@\^1/);
    const noFile = await registry.publish({ name: '@pg-fixture/empty-feed', version: '1.0.0' });
    expect(noFile.version).toBe('1.0.0');
    const empty = await rejection(resolveFeedSource({ ...options, source: '@pg-fixture/empty-feed', cacheDir: tempDir(), stateDir: tempDir() }));
    expect(empty.message).toMatch(/@pg-fixture\/empty-feed@1\.0\.0 has no provenance\.feed in its package root/);
    const git = await rejection(resolveFeedSource({ ...options, source: 'github:acme/feed', cacheDir: tempDir(), stateDir: tempDir() }));
    expect(git.message).toMatch(/only registry package specs/);
    const offlineNoCache = await rejection(resolveFeedSource({ ...options, offline: true, cacheDir: tempDir(), stateDir: tempDir() }));
    expect(offlineNoCache.message).toMatch(/offline, and no installed or cached copy/);

    // A new version whose feed is signed by a key not in feed.publicKeys never replaces the last good copy.
    const unpinned = readFileSync(await buildTestFeed(makeKeys(), sampleRecords(5), join(tempDir(), 'c.feed'), { serial: 99 }));
    await registry.publish({ name: '@pg-fixture/provenance-feed', version: '1.2.0', files: { 'provenance.feed': unpinned } });
    expect(readFileSync(await resolveFeedSource(options), 'latin1')).toBe(v2);
    expect(warnings.at(-1)).toMatch(/provenance\.feed of @pg-fixture\/provenance-feed@1\.2\.0 is signed with key .*\[ERR_PG_FEED_KEY\]; using the last good copy/);
    const fresh = await rejection(resolveFeedSource({ ...options, cacheDir: tempDir(), stateDir: tempDir() }));
    expect(fresh.code).toBe('ERR_PG_FEED_KEY');

    await registry.close();
    expect(readFileSync(await resolveFeedSource(options), 'latin1')).toBe(v2);
    expect(warnings.at(-1)).toMatch(/could not update the feed from npm package @pg-fixture\/provenance-feed@\^1/);
  });
});

describe('feed source: npm package already installed in the project', () => {
  const name = '@pg-fixture/provenance-feed';
  /** A package dir holding package.json and provenance.feed (the feed text marks which copy was picked). */
  function installCopy(dir: string, manifest: { name: string; version: string }): string {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
    writeFileSync(join(dir, 'provenance.feed'), `${dir}\n`);
    return join(dir, 'provenance.feed');
  }
  // Nothing answers on port 9: reaching the registry would fail with "cannot fetch".
  const options = (rootDir: string, source: string, offline = true) => ({
    source,
    rootDir,
    offline,
    cacheDir: tempDir(), stateDir: tempDir(),
    publicKeys: [] as string[],
    env: { HOME: rootDir, npm_config_registry: 'http://127.0.0.1:9/' },
  });

  it('uses a pnpm config dependency (pnpm 10 directory, pnpm 12 symlink) or a plain dependency whose version satisfies the range, without the network', async () => {
    const root = tempDir();
    const config = installCopy(join(root, 'node_modules/.pnpm-config', name), { name, version: '1.2.0' });
    expect(await resolveFeedSource(options(root, `${name}@^1`))).toBe(config);
    expect(await resolveFeedSource(options(root, `${name}@^1`, false))).toBe(config);
    expect(await resolveFeedSource(options(root, `npm:${name}@1.2.0`))).toBe(config);
    expect(await resolveFeedSource(options(root, name))).toBe(config);

    // pnpm 12: node_modules/.pnpm-config/<name> is a symlink into the store's links/ dir.
    const linked = tempDir();
    const store = join(tempDir('pg-store-'), 'links', name, '1.3.0', 'node_modules', name);
    installCopy(store, { name, version: '1.3.0' });
    mkdirSync(join(linked, 'node_modules/.pnpm-config/@pg-fixture'), { recursive: true });
    symlinkSync(store, join(linked, 'node_modules/.pnpm-config', name));
    expect(await resolveFeedSource(options(linked, `${name}@^1.3`))).toBe(join(linked, 'node_modules/.pnpm-config', name, 'provenance.feed'));
    expect(readFileSync(await resolveFeedSource(options(linked, `${name}@^1.3`)), 'utf8')).toBe(`${store}\n`);

    // node_modules/<name> when the config dependency does not fit.
    const both = tempDir();
    installCopy(join(both, 'node_modules/.pnpm-config', name), { name, version: '2.0.0' });
    const plain = installCopy(join(both, 'node_modules', name), { name, version: '1.0.1' });
    expect(await resolveFeedSource(options(both, `${name}@^1`))).toBe(plain);
  });

  it('ignores a copy whose version does not satisfy the range, whose name differs, or for a dist-tag', async () => {
    const root = tempDir();
    installCopy(join(root, 'node_modules/.pnpm-config', name), { name, version: '2.0.0' });
    const offline = await rejection(resolveFeedSource(options(root, `${name}@^1`)));
    expect(offline.message).toMatch(/^offline, and no installed or cached copy of the feed from npm package @pg-fixture\/provenance-feed@\^1/);
    expect(offline.message).toContain(`${join(root, 'node_modules/.pnpm-config', name)} is version 2.0.0, which does not satisfy ^1`);
    // Online it goes on to the registry (unreachable here) instead of using the wrong version.
    const online = await rejection(resolveFeedSource(options(root, `${name}@^1`, false)));
    expect(online.message).toMatch(/^cannot fetch the feed from npm package @pg-fixture\/provenance-feed@\^1 \(http:\/\/127\.0\.0\.1:9\/\)/);
    await rejection(resolveFeedSource(options(root, `${name}@2.0.1`)));
    await rejection(resolveFeedSource(options(root, `${name}@latest`)));
    expect(await resolveFeedSource(options(root, `${name}@2.0.0`))).toBe(join(root, 'node_modules/.pnpm-config', name, 'provenance.feed'));

    const impostor = tempDir();
    installCopy(join(impostor, 'node_modules', name), { name: '@pg-fixture/other', version: '1.0.0' });
    const refused = await rejection(resolveFeedSource(options(impostor, `${name}@^1`)));
    expect(refused.message).toMatch(/^offline, and no installed or cached copy/);
  });
});
