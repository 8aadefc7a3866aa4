/**
 * `feed.source: https://…/provenance.feed#range`: a feed read lazily with HTTP range requests
 * from a local server that answers them as static file servers and CDNs do (206, ETag, If-Range,
 * If-None-Match).
 */
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedError } from '../src/errors';
import { readPreamble } from '../src/feed/preamble';
import { childCount, levelSizes, pageBytes } from '../src/feed/tree';
import { TreeReader } from '../src/feed/tree-reader';
import { createGuard } from '../src/guard';
import type { Report, ResolvedPackage } from '../src/types';
import { buildTestFeed, makeKeys, sampleRecords, tempDir, type TestKeys } from './helpers/feed-fixtures';
import { startRangeServer as serve, type RangeServer } from './helpers/feed-server';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function setup(count = 20000, schema = 3): Promise<{ keys: TestKeys; server: RangeServer; dir: string; feedPath: string; packages: ResolvedPackage[] }> {
  const keys = makeKeys();
  const dir = tempDir('pg-remote-');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const records = sampleRecords(count);
  const feedPath = await buildTestFeed(keys, records, join(dir, 'provenance.feed'), { schema });
  const server = await serve(readFileSync(feedPath), '"v1"');
  cleanup.push(() => server.close());
  writeFileSync(join(dir, '.provenancerc'), `mode: warn\nfeed:\n  source: ${server.url}/provenance.feed#range\n  publicKeys: ["${keys.publicKey}"]\nunknown: warn\n`);
  const packages = records.filter((_, i) => i % Math.floor(count / 50) === 0).map((r) => ({ name: r.name, version: r.version, source: 'registry' as const, integrity: r.integrity! }));
  packages.push({ name: 'not-in-feed', version: '1.0.0', source: 'registry', integrity: 'sha512-' + Buffer.alloc(64, 1).toString('base64') });
  return { keys, server, dir, feedPath, packages };
}

async function check(dir: string, packages: ResolvedPackage[], extra: { feedSource?: string; offline?: boolean } = {}, cache = '.cache'): Promise<Report> {
  const guard = await createGuard({ cwd: dir, env: { PROVENANCE_GUARD_CACHE_DIR: join(dir, cache), PROVENANCE_GUARD_STATE_DIR: join(dir, cache, 'state') }, warn: () => {}, ...extra });
  try {
    return await guard.check(packages);
  } finally {
    guard.close();
  }
}

describe('a #range https feed source', () => {
  it('reads only the head, the index and the pages lookups need; answers as the local file does; a repeat transfers nothing', async () => {
    const { server, dir, feedPath, packages } = await setup();
    const remote = await check(dir, packages);
    const local = await check(dir, packages, { feedSource: feedPath });
    expect(remote).toEqual(local);
    expect(remote.summary.pass + remote.summary.warn).toBe(packages.length);
    const size = statSync(feedPath).size;
    expect(server.bytesSent).toBeLessThan(size / 4);
    const cold = server.bytesSent;
    const coldRequests = server.requests;
    expect(await check(dir, packages)).toEqual(local);
    expect(server.bytesSent).toBe(cold);
    expect(server.requests).toBe(coldRequests + 1); // the conditional request for the head: 304
    // Offline: the cached pages answer; a page never fetched is an error, not a pass.
    expect(await check(dir, packages, { offline: true })).toEqual(local);
    const more = [{ name: 'pkg-7', version: '1.0.7', source: 'registry' as const, integrity: 'sha512-' + Buffer.alloc(64, 7).toString('base64') }];
    await expect(check(dir, more, { offline: true })).rejects.toThrow(/not cached/);
  });

  it('refuses a tampered page or index, and a server that ignores ranges (schema 2: flat index, sparse copy)', async () => {
    const { server, dir, packages } = await setup(1000, 2);
    const original = Buffer.from(server.body);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 40] ^= 0x04; // in the last bucket
    server.body = tampered;
    server.etag = '"t1"';
    const all = sampleRecords(1000).map((r) => ({ name: r.name, version: r.version, source: 'registry' as const, integrity: r.integrity! }));
    await expect(check(dir, all)).rejects.toThrow(FeedError);
    const index = Buffer.from(original);
    index[index.indexOf('\n', index.indexOf('ed25519 ')) + 30] ^= 0x01;
    server.body = index;
    server.etag = '"t2"';
    // A fresh cache fetches the index: refused. (A cache holding this feed's authentic index
    // never reads the server's copy of it again.)
    await expect(check(dir, packages, {}, '.cache-2')).rejects.toThrow(/index does not match its hash/);
    expect((await check(dir, packages)).summary.packages).toBe(packages.length);
    server.body = original;
    server.etag = '"v2"';
    server.ranges = false;
    await expect(check(dir, packages, {}, '.cache-3')).rejects.toThrow(/range requests/);
  });

  it('follows a new feed at the same URL', async () => {
    const { keys, server, dir, packages } = await setup(500);
    expect((await check(dir, packages)).summary.packages).toBe(packages.length);
    // A new feed is a new serial (the same serial with other content is refused as a substitution).
    const next = await buildTestFeed(keys, sampleRecords(500, 'next'), join(dir, 'next.feed'), { serial: Math.floor(Date.now() / 1000) + 60 });
    server.body = readFileSync(next);
    server.etag = '"v2"';
    const report = await check(dir, packages);
    // None of the old packages is in the new feed: every one is now unknown (warn under this policy).
    expect(report.summary.warn).toBe(packages.length);
  });
});

/** The page cache's files (named by their SHA-256). */
function cachedPages(dir: string, cache = '.cache'): string[] {
  const root = join(dir, cache, 'feeds');
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /pages\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(f)).map((f) => join(root, f));
}

describe('a #range feed of schema 3 (hash tree)', () => {
  it('fetches only the pages on the lookups\' paths, level by level; a repeat is one conditional request and no body', async () => {
    const { server, dir, feedPath, packages } = await setup(20000);
    const local = await check(dir, packages, { feedSource: feedPath });
    expect(await check(dir, packages)).toEqual(local);
    const size = statSync(feedPath).size;
    // 51 lookups: the 4 KB head, the root, ≤ 51 level-1 pages (590 bytes) and ≤ 51 buckets (~2.3 KB).
    expect(server.bytesSent).toBeLessThan(4096 + 1000 + 51 * 590 + 51 * 4000);
    expect(server.bytesSent).toBeLessThan(size / 10);
    // Requests: the head, then per level one request per run of near pages: fewer than one per page.
    const data = readFileSync(feedPath);
    const { header, bodyStart } = readPreamble(feedPath);
    const tree = new TreeReader(header, { read: (ref) => data.subarray(bodyStart + ref.offset, bodyStart + ref.offset + ref.length) }, feedPath);
    let pagesOnPaths = 0;
    for (let level = 0; level <= tree.root.level; level++) {
      pagesOnPaths += new Set(packages.map((p) => tree.refAt(tree.bucketOf(p.name, p.version), level).offset)).size;
    }
    expect(server.requests).toBeGreaterThan(1 + tree.root.level);
    expect(server.requests).toBeLessThan(1 + pagesOnPaths);
    const cold = { bytes: server.bytesSent, requests: server.requests };
    expect(await check(dir, packages)).toEqual(local);
    expect(server.bytesSent).toBe(cold.bytes);
    expect(server.requests).toBe(cold.requests + 1);
  });

  it('refuses bytes the server sends for a range that do not match the signed feed (bucket or index page), and caches none of them', async () => {
    const { server, dir, packages } = await setup(5000);
    const { header, bodyStart } = readPreamble(join(dir, 'provenance.feed'));
    const rootStart = bodyStart + header.bodyBytes - header.rootLength!;
    const sizes = levelSizes(header.buckets, header.fanout!);
    const levelBytes = (l: number) => Array.from({ length: sizes[l]! }, (_, p) => pageBytes(childCount(p, sizes[l - 1]!, header.fanout!))).reduce((a, b) => a + b, 0);
    const level1Start = bodyStart + header.bodyBytes - sizes.slice(1).reduce((sum, _, i) => sum + levelBytes(i + 1), 0);
    const level2Start = level1Start + levelBytes(1);
    expect(sizes).toEqual([313, 20, 2, 1]);
    // Other bytes for the buckets: the hashes in their level-1 pages refuse them.
    server.rewrite = (start, data) => (start >= bodyStart && start < level1Start ? Buffer.from(data).fill(0x41, 0, 1) : data);
    await expect(check(dir, packages, {}, '.cache-b')).rejects.toThrow(/\(page 0\/\d+\) do not match the signed feed; the server sent other bytes/);
    // Other bytes for the level-1 index pages: the root's hashes refuse them.
    server.rewrite = (start, data) => (start >= level1Start && start < level2Start ? Buffer.from(data).fill(0x42, data.length - 1) : data);
    await expect(check(dir, packages, {}, '.cache-i')).rejects.toThrow(/\(page 1\/\d+\) do not match the signed feed/);
    // Other bytes for the root: the signed header's hash refuses them.
    server.rewrite = (start, data) => (start === rootStart ? Buffer.from(data).fill(0x43, 20, 21) : data);
    await expect(check(dir, packages, {}, '.cache-r')).rejects.toThrow(/\(page 3\/0\) do not match the signed feed/);
    for (const cache of ['.cache-b', '.cache-i', '.cache-r']) {
      for (const file of cachedPages(dir, cache)) expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(basename(file));
    }
    server.rewrite = undefined;
    expect((await check(dir, packages, {}, '.cache-b')).summary.packages).toBe(packages.length);
  });

  it('never trusts a poisoned page cache: a page that no longer matches its name is dropped and fetched again', async () => {
    const { server, dir, feedPath, packages } = await setup(5000);
    const local = await check(dir, packages, { feedSource: feedPath });
    expect(await check(dir, packages)).toEqual(local);
    const pages = cachedPages(dir);
    expect(pages.length).toBeGreaterThan(10);
    // A poisoned copy of each page: another page's bytes, or the right bytes with one flipped.
    for (const [i, file] of pages.entries()) {
      const other = readFileSync(pages[(i + 1) % pages.length]!);
      if (i % 2 === 0) writeFileSync(file, other);
      else writeFileSync(file, Buffer.from(readFileSync(file)).fill(0x20, 3, 4));
    }
    await expect(check(dir, packages, { offline: true })).rejects.toThrow(/not cached/);
    const before = server.bytesSent;
    expect(await check(dir, packages)).toEqual(local);
    expect(server.bytesSent).toBeGreaterThan(before);
    for (const file of cachedPages(dir)) expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(basename(file));
    expect(await check(dir, packages, { offline: true })).toEqual(local);
  });

  it('refuses a redirect to plain http, and a file whose size is not the one the header says', async () => {
    const { server, dir, packages } = await setup(500);
    server.redirect = 'http://192.0.2.1/provenance.feed';
    await expect(check(dir, packages)).rejects.toThrow(/refused, a feed is only fetched over https/);
    server.redirect = undefined;
    server.body = Buffer.concat([server.body, Buffer.from('extra')]);
    server.etag = '"longer"';
    await expect(check(dir, packages)).rejects.toThrow(/its header says \d+; refused/);
  });
});
