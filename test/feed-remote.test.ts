/**
 * `feed.source: https://…/provenance.feed#range`: a feed read lazily with HTTP range requests
 * from a local server that answers them as static file servers and CDNs do (206, ETag, If-Range,
 * If-None-Match).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedError } from '../src/errors';
import { createGuard } from '../src/guard';
import type { Report, ResolvedPackage } from '../src/types';
import { buildTestFeed, makeKeys, sampleRecords, tempDir, type TestKeys } from './helpers/feed-fixtures';

interface RangeServer {
  url: string;
  body: Buffer;
  etag: string;
  ranges: boolean;
  requests: number;
  bytesSent: number;
  close(): Promise<void>;
}

async function serve(body: Buffer, etag: string): Promise<RangeServer> {
  const state = { body, etag, ranges: true, requests: 0, bytesSent: 0 } as RangeServer;
  const server: Server = createServer((req, res) => {
    state.requests++;
    const send = (status: number, data: Buffer, headers: Record<string, string> = {}) => {
      state.bytesSent += data.length;
      res.writeHead(status, { etag: state.etag, 'content-length': String(data.length), ...headers });
      res.end(data);
    };
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    if (req.headers['if-none-match'] === state.etag) return send(304, Buffer.alloc(0));
    const ifRange = req.headers['if-range'];
    if (!state.ranges || !range || (ifRange !== undefined && ifRange !== state.etag)) return send(200, state.body);
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), state.body.length - 1);
    return send(206, state.body.subarray(start, end + 1), { 'content-range': `bytes ${start}-${end}/${state.body.length}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return state;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function setup(count = 20000): Promise<{ keys: TestKeys; server: RangeServer; dir: string; feedPath: string; packages: ResolvedPackage[] }> {
  const keys = makeKeys();
  const dir = tempDir('pg-remote-');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const records = sampleRecords(count);
  const feedPath = await buildTestFeed(keys, records, join(dir, 'provenance.feed'));
  const server = await serve(readFileSync(feedPath), '"v1"');
  cleanup.push(() => server.close());
  writeFileSync(join(dir, '.provenancerc'), `mode: warn\nfeed:\n  source: ${server.url}/provenance.feed#range\n  publicKeys: ["${keys.publicKey}"]\nunknown: warn\n`);
  const packages = records.filter((_, i) => i % Math.floor(count / 50) === 0).map((r) => ({ name: r.name, version: r.version, source: 'registry' as const, integrity: r.integrity! }));
  packages.push({ name: 'not-in-feed', version: '1.0.0', source: 'registry', integrity: 'sha512-' + Buffer.alloc(64, 1).toString('base64') });
  return { keys, server, dir, feedPath, packages };
}

async function check(dir: string, packages: ResolvedPackage[], extra: { feedSource?: string; offline?: boolean } = {}, cache = '.cache'): Promise<Report> {
  const guard = await createGuard({ cwd: dir, env: { PROVENANCE_GUARD_CACHE_DIR: join(dir, cache) }, warn: () => {}, ...extra });
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

  it('refuses a tampered page or index, and a server that ignores ranges', async () => {
    const { server, dir, packages } = await setup(1000);
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
