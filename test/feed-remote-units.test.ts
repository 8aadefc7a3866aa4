/**
 * Unit tests of the `#range` feed client (src/feed/remote.ts, remote-tree.ts, range-http.ts),
 * written against the mutants Stryker left alive (docs/mutation.md, run B): what is fetched
 * (ranges, validators), what is kept on disk, and what a lying or changing server gets. In-process:
 * a range server on 127.0.0.1 in this file, real feeds built and signed with the project's builder.
 */
import { createHash, sign } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FeedError } from '../src/errors';
import { INDEX_ENTRY_BYTES, MAGIC, SIG_PREFIX, bucketOfHash, decodeIndexEntry, encodeIndexEntry, keyHash, recordKey } from '../src/feed/format';
import { keyId, readPrivateKey } from '../src/feed/keys';
import { readPreamble } from '../src/feed/preamble';
import { rangeGet } from '../src/feed/range-http';
import { openFeed } from '../src/feed/reader';
import { openRemoteFeedFile, writeMeta, type RemoteFeedFile } from '../src/feed/remote';
import { PageStore, prefetchTree } from '../src/feed/remote-tree';
import { sha256Of, type PageRef } from '../src/feed/tree';
import { TreeReader } from '../src/feed/tree-reader';
import type { FeedRecord } from '../src/types';
import { rejected } from './helpers/errors';
import { buildTestFeed, makeKeys, sampleRecords, type TestKeys } from './helpers/feed-fixtures';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-feed-remote-units-');

/** One request as the server saw it. */
interface Seen {
  range?: string;
  ifRange?: string;
  ifNoneMatch?: string;
  status: number;
  bytes: number;
}

/**
 * A static file server answering range requests as CDNs do (206 + Content-Range, ETag, If-Range,
 * If-None-Match); `intercept` answers a request instead (return true when it did), `total` may
 * hide the full size (`bytes a-b/*`).
 */
interface TestServer {
  url: string;
  source: string;
  body: Buffer;
  etag: string | undefined;
  total: boolean;
  seen: Seen[];
  intercept?: (req: IncomingMessage, res: ServerResponse, seen: Seen) => boolean;
  /** Called with each range served, before it is sent (a test may change the server's state). */
  onRange?: (start: number, end: number) => void;
  close(): Promise<void>;
}

const servers: { closeAllConnections(): void; close(callback: () => void): unknown }[] = [];
afterAll(async () => {
  for (const server of servers) await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
});

async function startServer(body: Buffer, options: { etag?: string } = { etag: '"v1"' }): Promise<TestServer> {
  const state = { body, etag: options.etag, total: true, seen: [] as Seen[] } as TestServer;
  const server = createServer((req, res) => {
    const seen: Seen = { status: 0, bytes: 0 };
    if (req.headers.range !== undefined) seen.range = String(req.headers.range);
    if (req.headers['if-range'] !== undefined) seen.ifRange = String(req.headers['if-range']);
    if (req.headers['if-none-match'] !== undefined) seen.ifNoneMatch = String(req.headers['if-none-match']);
    state.seen.push(seen);
    if (state.intercept?.(req, res, seen)) return;
    const send = (status: number, data: Buffer, headers: Record<string, string> = {}) => {
      seen.status = status;
      seen.bytes = data.length;
      res.writeHead(status, { ...(state.etag ? { etag: state.etag } : {}), 'content-length': String(data.length), ...headers });
      res.end(data);
    };
    if (state.etag && req.headers['if-none-match'] === state.etag) return send(304, Buffer.alloc(0));
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    const ifRange = req.headers['if-range'];
    if (!range || (ifRange !== undefined && ifRange !== state.etag)) return send(200, state.body);
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), state.body.length - 1);
    state.onRange?.(start, end);
    return send(206, state.body.subarray(start, end + 1), { 'content-range': `bytes ${start}-${end}/${state.total ? state.body.length : '*'}` });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.source = `${state.url}/provenance.feed#range`;
  state.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return state;
}

const records = sampleRecords(600);
const wanted = records.filter((_, i) => i % 37 === 0);
const asked = wanted.map((r) => ({ name: r.name, version: r.version }));
const keys: TestKeys = makeKeys(temp('pg-keys-'));

const built = new Map<string, Promise<string>>();
/** A feed built and signed once for this file (tests read it, never change it). */
function feedFile(schema: number, options: { serial?: number; count?: number; prefix?: string } = {}): Promise<string> {
  const key = JSON.stringify([schema, options.serial ?? 5, options.count ?? 600, options.prefix ?? '']);
  let path = built.get(key);
  if (!path) {
    const list = options.prefix ? sampleRecords(options.count ?? 600, options.prefix) : records.slice(0, options.count ?? 600);
    path = buildTestFeed(keys, list, join(temp(), 'provenance.feed'), { schema, serial: options.serial ?? 5 });
    built.set(key, path);
  }
  return path;
}

/** The same feed with a longer signed header (a `note` field of `noteBytes`), signed again with the feed's key. */
function withLongHeader(path: string, noteBytes: number): Buffer {
  const data = readFileSync(path);
  const preamble = readPreamble(path);
  const signed = Buffer.from(MAGIC + JSON.stringify({ ...preamble.header, note: 'n'.repeat(noteBytes) }) + '\n');
  const signature = sign(null, signed, readPrivateKey(keys.privateKeyPath)).toString('base64');
  return Buffer.concat([signed, Buffer.from(`${SIG_PREFIX}${signature}\n`), data.subarray(preamble.bodyStart)]);
}

/** The note length that makes the signed part (magic + header line) end `at` bytes into the file. */
function noteFor(path: string, at: number): number {
  return at - withLongHeader(path, 0).indexOf(0x0a, MAGIC.length) - 1;
}

/** Opens what the remote fetched, as `check` does, and looks every wanted record up. */
async function lookups(remote: RemoteFeedFile, list: FeedRecord[] = wanted): Promise<void> {
  await remote.prefetch(list.map((r) => ({ name: r.name, version: r.version })));
  const feed = openFeed(remote.path, { publicKeys: [keys.publicKey], stateDir: temp(), ...(remote.pages ? { pages: remote.pages } : {}) });
  try {
    for (const r of list) expect(feed.lookup(r.name, r.version)).toEqual(r);
  } finally {
    feed.close();
  }
}

const slotOf = (cacheDir: string, url: string) => join(cacheDir, 'feeds', `range-${createHash('sha256').update(url).digest('hex').slice(0, 24)}`);
const open = (source: string, cacheDir: string, offline = false) => openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline, publicKeys: [keys.publicKey] });
const code = async (promise: Promise<unknown>) => (await rejected(FeedError, promise)).code;

describe('#range sources: the head request and the cached copy (remote.ts)', () => {
  it.each([3, 2])('asks the first 4 KB, then only ranges, each with If-Range of the head\'s ETag (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)));
    const cacheDir = temp();
    const remote = await open(server.source, cacheDir);
    expect(server.seen[0]).toEqual({ range: 'bytes=0-4095', status: 206, bytes: 4096 });
    await lookups(remote);
    for (const seen of server.seen.slice(1)) {
      expect(seen.ifRange).toBe('"v1"');
      expect(seen.status).toBe(206);
    }
    expect(remote.requests).toBe(server.seen.length);
    expect(remote.bytesFetched).toBe(server.seen.reduce((sum, s) => sum + s.bytes, 0));
    // Next run: the head is asked with If-None-Match, answered 304, and nothing else is fetched.
    const again = await open(server.source, cacheDir);
    expect(server.seen.at(-1)).toEqual({ range: 'bytes=0-4095', ifNoneMatch: '"v1"', status: 304, bytes: 0 });
    expect(again.path).toBe(remote.path);
    expect([again.requests, again.bytesFetched]).toEqual([1, 0]);
    await lookups(again);
    expect(again.requests).toBe(1);
  });

  it.each([3, 2])('a source with blanks around it and an upper-case scheme is the same feed and the same cache slot (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)));
    const cacheDir = temp();
    const remote = await open(`  ${server.source.replace('http:', 'HTTP:')}\n`, cacheDir);
    await lookups(remote);
    expect(readdirSync(join(cacheDir, 'feeds'))).toEqual([slotOf(cacheDir, server.url.replace('http:', 'HTTP:') + '/provenance.feed').slice(join(cacheDir, 'feeds').length + 1)]);
    const meta = JSON.parse(readFileSync(join(slotOf(cacheDir, server.url.replace('http:', 'HTTP:') + '/provenance.feed'), 'meta.json'), 'utf8'));
    expect(meta).toEqual({ url: server.url.replace('http:', 'HTTP:') + '/provenance.feed', etag: '"v1"', file: expect.stringMatching(schema === 3 ? /^head-[0-9a-f]{32}$/ : /^feed-[0-9a-f]{32}$/), mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(readFileSync(join(cacheDir, 'feeds', readdirSync(join(cacheDir, 'feeds'))[0]!, 'meta.json'), 'utf8').endsWith('}\n')).toBe(true);
  });
});

describe('#range sources: headers longer than the first request (remote.ts)', () => {
  it.each([3, 2])('fetches the rest of a header longer than 4 KB, up to what a header may be, and reads the feed (schema %i)', async (schema) => {
    const path = await feedFile(schema);
    const body = withLongHeader(path, 9000);
    expect(body.length).toBeLessThan(64 * 1024 + 256);
    const server = await startServer(body);
    const remote = await open(server.source, temp());
    // The rest is asked up to the end of a file smaller than the largest header.
    expect(server.seen.slice(0, 2).map((s) => s.range)).toEqual(['bytes=0-4095', `bytes=4096-${body.length - 1}`]);
    await lookups(remote);
  });

  it('asks at most 64 KB + 256 bytes for a long header of a larger feed', async () => {
    const path = await feedFile(3, { count: 3000, prefix: 'big' });
    const body = withLongHeader(path, 20000);
    expect(body.length).toBeGreaterThan(64 * 1024 + 256);
    const server = await startServer(body);
    const remote = await open(server.source, temp());
    expect(server.seen.slice(0, 2).map((s) => s.range)).toEqual(['bytes=0-4095', `bytes=4096-${64 * 1024 + 256 - 1}`]);
    const list = sampleRecords(3000, 'big').filter((_, i) => i % 300 === 0);
    await lookups(remote, list);
  });

  it.each([3, 2])('reads a header whose line ends within the first 4 KB but whose signature line does not (schema %i)', async (schema) => {
    const path = await feedFile(schema);
    const body = withLongHeader(path, noteFor(path, 4050));
    expect(body.indexOf(0x0a, MAGIC.length)).toBe(4049);
    const server = await startServer(body);
    await lookups(await open(server.source, temp()));
  });

  it('asks no more than the first 4 KB when the signature line ends exactly there, and the rest when it ends a byte later', async () => {
    const path = await feedFile(3);
    for (const [end, requests] of [[4096, 1], [4097, 2]] as const) {
      const body = withLongHeader(path, noteFor(path, end - (SIG_PREFIX.length + 89)));
      expect(readPreamble(path).bodyStart).toBeLessThan(4000);
      const server = await startServer(body);
      const remote = await open(server.source, temp());
      expect(server.seen.length, String(end)).toBe(requests);
      await lookups(remote);
    }
  });
});

describe('#range sources: a feed that changes, a server that misbehaves (remote.ts)', () => {
  it.each([3, 2])('follows a new feed at a URL served without ETags, and asks no validator (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)), {});
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    await lookups(first);
    expect(JSON.parse(readFileSync(join(slotOf(cacheDir, server.url + '/provenance.feed'), 'meta.json'), 'utf8'))).not.toHaveProperty('etag');
    server.body = readFileSync(await feedFile(schema, { serial: 6, prefix: 'next', count: 300 }));
    const second = await open(server.source, cacheDir);
    expect(second.path).not.toBe(first.path);
    await lookups(second, sampleRecords(300, 'next').filter((_, i) => i % 9 === 0));
    expect(server.seen.filter((s) => s.ifRange !== undefined || s.ifNoneMatch !== undefined)).toEqual([]);
  });

  it.each([3, 2])('reuses the copy when a server ignores If-None-Match but answers the same ETag (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)));
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    await lookups(first);
    server.intercept = (req) => {
      delete req.headers['if-none-match'];
      return false;
    };
    const before = server.seen.length;
    const again = await open(server.source, cacheDir);
    expect(again.path).toBe(first.path);
    await lookups(again);
    // The head (a full 206 this time), and nothing else: every page is cached.
    expect(server.seen.slice(before).map((s) => s.status)).toEqual([206]);
  });

  it.each([3, 2])('a new feed at the same URL is read with If-Range of its own ETag (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)));
    const cacheDir = temp();
    await lookups(await open(server.source, cacheDir));
    server.body = readFileSync(await feedFile(schema, { serial: 6, prefix: 'next', count: 300 }));
    server.etag = '"v2"';
    const before = server.seen.length;
    const next = await open(server.source, cacheDir);
    await lookups(next, sampleRecords(300, 'next').filter((_, i) => i % 9 === 0));
    expect(server.seen[before]!.ifNoneMatch).toBe('"v1"');
    const ranges = server.seen.slice(before + 1);
    expect(ranges.length).toBeGreaterThan(0);
    for (const seen of ranges) expect(seen).toMatchObject({ ifRange: '"v2"', status: 206 });
    expect(JSON.parse(readFileSync(join(slotOf(cacheDir, server.url + '/provenance.feed'), 'meta.json'), 'utf8')).etag).toBe('"v2"');
  });

  it.each([3, 2])('refuses pages of a feed that changed after its head was read: the server answers 200 to If-Range (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)));
    const cacheDir = temp();
    const remote = await open(server.source, cacheDir);
    server.body = readFileSync(await feedFile(schema, { serial: 6 }));
    server.etag = '"v2"';
    const error = await rejected(FeedError, remote.prefetch(asked));
    expect(error.code).toBe('ERR_PG_FEED');
    expect(error.message).toContain(server.url + '/provenance.feed');
    expect(error.message).toContain(' 200');
    expect(server.seen.at(-1)).toMatchObject({ ifRange: '"v1"', status: 200 });
  });

  it('schema 2: refuses a feed that changes between the head and the index request', async () => {
    const server = await startServer(readFileSync(await feedFile(2, { count: 3000, prefix: 'big' })));
    server.onRange = (start) => {
      if (start > 0) server.etag = '"v2"';
    };
    const cacheDir = temp();
    const error = await rejected(FeedError, open(server.source, cacheDir));
    expect(error.code).toBe('ERR_PG_FEED');
    expect(error.message).toContain(server.url + '/provenance.feed');
    expect(server.seen.map((s) => s.range)).toEqual(['bytes=0-4095', expect.stringMatching(/^bytes=4096-\d+$/)]);
    // Nothing kept: no copy, no meta.json, no temp file.
    expect(readdirSync(slotOf(cacheDir, server.url + '/provenance.feed'))).toEqual([]);
  });

  it.each([3, 2])('refuses a server that does not answer ranges, naming the URL (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)));
    server.intercept = (req) => {
      delete req.headers.range;
      return false;
    };
    const error = await rejected(FeedError, open(server.source, temp()));
    expect(error.code).toBe('ERR_PG_FEED');
    expect(error.message).toContain(`GET ${server.url}/provenance.feed (bytes 0-4095) answered 200`);
  });

  it('refuses an answer without the total size in Content-Range (ERR_PG_FEED for schema 2, ERR_PG_FEED_CORRUPT for schema 3)', async () => {
    for (const [schema, expected] of [[2, 'ERR_PG_FEED'], [3, 'ERR_PG_FEED_CORRUPT']] as const) {
      const server = await startServer(readFileSync(await feedFile(schema)));
      server.total = false;
      const error = await rejected(FeedError, open(server.source, temp()));
      expect(error.code, String(schema)).toBe(expected);
      expect(error.message).toContain(server.url + '/provenance.feed');
    }
  });
});

describe('#range sources: the cache slot (remote.ts)', () => {
  it.each([3, 2])('never follows a meta.json naming a file outside its slot, or not a copy (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)));
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    await lookups(first);
    const slot = slotOf(cacheDir, server.url + '/provenance.feed');
    const meta = JSON.parse(readFileSync(join(slot, 'meta.json'), 'utf8'));
    // Another slot holding a copy of that name; then meta.json names it through `..`, or names the slot itself.
    const elsewhere = join(cacheDir, 'feeds', 'range-elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, meta.file), readFileSync(first.path));
    for (const file of [`../range-elsewhere/${meta.file}`, `${meta.file}/..`, '', 'meta.json', `x${meta.file}`, `${meta.file}x`]) {
      // Authentic (written as this machine writes it): only the name check refuses it.
      writeMeta(slot, cacheDir, { url: meta.url, etag: meta.etag, file });
      expect(await code(open(server.source, cacheDir, true)), file).toBe('ERR_PG_FEED');
    }
    writeFileSync(join(slot, 'meta.json'), '{"url":');
    expect(await code(open(server.source, cacheDir, true))).toBe('ERR_PG_FEED');
    // Online, the head is fetched again (no If-None-Match: nothing cached) and the copy reused.
    const again = await open(server.source, cacheDir);
    expect(server.seen.at(-1)).toEqual({ range: 'bytes=0-4095', status: 206, bytes: 4096 });
    expect(again.path).toBe(first.path);
    await lookups(again);
  });

  it('schema 2: a copy removed while its buckets are fetched is an error naming the copy', async () => {
    const server = await startServer(readFileSync(await feedFile(2)));
    const cacheDir = temp();
    const remote = await open(server.source, cacheDir);
    server.onRange = () => rmSync(remote.path, { force: true });
    const error = await rejected(FeedError, remote.prefetch(asked));
    expect(error.code).toBe('ERR_PG_FEED');
    expect(error.file).toBe(remote.path);
    expect(error.message).toContain(remote.path);
  });
});

describe('#range sources: the flat index of schemas 1 and 2 (remote.ts)', () => {
  it.each([2, 1])('fetches an index past the first 4 KB right after the head; a copy of the same feed (new ETag) is reused, not fetched again (schema %i)', async (schema) => {
    const path = await feedFile(schema, { count: 3000, prefix: 'big' });
    const { bodyStart, header } = readPreamble(path);
    const indexEnd = bodyStart + header.buckets * INDEX_ENTRY_BYTES;
    expect(indexEnd).toBeGreaterThan(4096);
    const server = await startServer(readFileSync(path));
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    expect(server.seen.map((s) => s.range)).toEqual(['bytes=0-4095', `bytes=4096-${indexEnd - 1}`]);
    expect(statSync(first.path).size).toBe(readFileSync(path).length);
    const list = sampleRecords(3000, 'big').filter((_, i) => i % 250 === 0);
    await lookups(first, list);
    server.etag = '"v1-again"';
    const before = server.seen.length;
    const again = await open(server.source, cacheDir);
    expect(again.path).toBe(first.path);
    await lookups(again, list);
    expect(server.seen.slice(before).map((s) => s.range)).toEqual(['bytes=0-4095']);
    expect(JSON.parse(readFileSync(join(slotOf(cacheDir, server.url + '/provenance.feed'), 'meta.json'), 'utf8')).etag).toBe('"v1-again"');
  });
});

describe('range requests: connections, TLS and redirects (range-http)', () => {
  /** A server on 127.0.0.1 (plain or TLS) counting the connections it accepts. */
  async function listen(server: Server, onConnection = 'connection'): Promise<{ base: string; connections: () => number }> {
    let connections = 0;
    server.on(onConnection, () => connections++);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const scheme = onConnection === 'secureConnection' ? 'https' : 'http';
    return { base: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
  }
  const downloadError = async (promise: Promise<unknown>) => rejected(FeedError, promise);

  /** rangeGet of a freshly loaded range-http (its agents are made on first use, once per process). */
  async function freshRangeGet(): Promise<typeof rangeGet> {
    vi.resetModules();
    return (await import('../src/feed/range-http')).rangeGet;
  }

  it('keeps connections alive between requests, and opens at most 8 at once', async () => {
    const rangeGet = await freshRangeGet();
    const server = await listen(createServer((req, res) => setTimeout(() => res.writeHead(206).end(req.url), 40)));
    for (let i = 0; i < 3; i++) expect((await rangeGet(new URL(`/${i}`, server.base), {}, 5000, 100)).body.toString()).toBe(`/${i}`);
    expect(server.connections()).toBe(1);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => rangeGet(new URL(`/p${i}`, server.base), {}, 5000, 100)));
    expect(answers.map((a) => a.body.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `/p${i}`));
    expect(server.connections()).toBe(8);
  });

  it('speaks TLS to an https URL and plain HTTP to an http one (the first bytes on the wire)', async () => {
    const first: number[] = [];
    const tcp = createTcpServer((socket: Socket) => socket.once('data', (data: Buffer) => {
      first.push(data[0]!);
      socket.destroy();
    }));
    servers.push({ closeAllConnections: () => {}, close: (callback) => tcp.close(callback) });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
    const port = (tcp.address() as AddressInfo).port;
    const tls = await downloadError(rangeGet(new URL(`https://127.0.0.1:${port}/f`), {}, 5000, 100));
    expect(tls.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(tls.message).toContain(`https://127.0.0.1:${port}/f`);
    const plain = await downloadError(rangeGet(new URL(`http://127.0.0.1:${port}/f`), {}, 5000, 100));
    expect(plain.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(first).toEqual([0x16, 'G'.charCodeAt(0)]); // a TLS handshake record, then "GET /f"
  });

  it('gives up on a server that does not answer, naming the URL and the time waited in seconds', async () => {
    const server = await listen(createServer(() => {}));
    const error = await downloadError(rangeGet(new URL('/hang', server.base), {}, 300, 100));
    expect(error.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(error.message).toContain(`${server.base}/hang`);
    expect(error.message).toMatch(/no (complete )?answer within 0\.3 s/);
  });

  it('an answer cut mid-body is a download error naming the URL, not a short body', async () => {
    const server = await listen(createServer((_req, res) => {
      res.writeHead(206, { 'content-length': '100' });
      res.write(Buffer.alloc(50), () => setTimeout(() => res.socket?.destroy(), 20));
    }));
    const error = await downloadError(rangeGet(new URL('/cut', server.base), {}, 5000, 1000));
    expect(error.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(error.message).toContain(`${server.base}/cut`);
  });

  it('names the URL and the status of a redirect without a Location, and the URL given when there are too many', async () => {
    const server = await listen(createServer((req, res) => {
      if (req.url === '/nowhere') res.writeHead(307).end();
      else res.writeHead(302, { location: `/loop${Number(req.url!.slice(5) || 0) + 1}` }).end();
    }));
    const nowhere = await downloadError(rangeGet(new URL('/nowhere', server.base), {}, 5000, 100));
    expect(nowhere.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(nowhere.message).toContain(`${server.base}/nowhere`);
    expect(nowhere.message).toContain('307');
    const loop = await downloadError(rangeGet(new URL('/loop0', server.base), {}, 5000, 100));
    expect(loop.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(loop.message).toContain(`${server.base}/loop0`);
  });

  it('follows a redirect to plain http on any loopback name: 127.0.0.1, localhost, [::1]', async () => {
    const rangeGet = await freshRangeGet();
    const v6 = createServer((req, res) => res.writeHead(206).end(`v6 ${req.url}`));
    servers.push(v6);
    await new Promise<void>((resolve) => v6.listen(0, '::1', () => resolve()));
    const target = await listen(createServer((req, res) => res.writeHead(206).end(`v4 ${req.url}`)));
    const port = new URL(target.base).port;
    for (const [location, body] of [[`http://localhost:${port}/to`, 'v4 /to'], [`http://[::1]:${(v6.address() as AddressInfo).port}/to`, 'v6 /to'], [`${target.base}/to`, 'v4 /to']]) {
      const from = await listen(createServer((_req, res) => res.writeHead(302, { location }).end()));
      const answer = await rangeGet(new URL('/from', from.base), {}, 5000, 100);
      expect([answer.status, answer.body.toString()], location).toEqual([206, body]);
    }
  });

  it('stops the transfer of a body longer than asked (the server sees its answer aborted)', async () => {
    let finished: boolean | undefined;
    const server = await listen(createServer((_req, res) => {
      res.on('close', () => (finished = res.writableFinished));
      res.writeHead(200);
      res.write(Buffer.alloc(64 * 1024, 1));
      setTimeout(() => res.end(Buffer.alloc(64 * 1024, 2)), 100);
    }));
    const answer = await rangeGet(new URL('/big', server.base), {}, 5000, 1000);
    expect(answer.body.length).toBeLessThanOrEqual(1000);
    await sleep(300);
    expect(finished).toBe(false);
  });

  describe('over TLS (a self-signed certificate for 127.0.0.1, accepted for these tests only)', () => {
    let certificate: { key: Buffer; cert: Buffer };
    const allow = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    afterAll(() => {
      if (allow === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = allow;
    });
    const tlsServer = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      if (!certificate) {
        const dir = temp('pg-cert-');
        execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'),
          '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
        certificate = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
      }
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
      return listen(createTlsServer(certificate, handler) as unknown as Server, 'secureConnection');
    };

    it('follows https to https, and keeps the TLS connection alive', async () => {
      const rangeGet = await freshRangeGet();
      const server = await tlsServer((req, res) => (req.url === '/from' ? res.writeHead(301, { location: '/to' }).end() : res.writeHead(206).end(`tls ${req.url}`)));
      const answer = await rangeGet(new URL('/from', server.base), {}, 5000, 100);
      expect([answer.status, answer.body.toString()]).toEqual([206, 'tls /to']);
      expect((await rangeGet(new URL('/again', server.base), {}, 5000, 100)).body.toString()).toBe('tls /again');
      expect(server.connections()).toBe(1);
    });

    it('never follows https to plain http, not even to the loopback', async () => {
      const plain = await listen(createServer((_req, res) => res.writeHead(206).end('plain')));
      const server = await tlsServer((_req, res) => res.writeHead(302, { location: `${plain.base}/f` }).end());
      const error = await downloadError(rangeGet(new URL('/from', server.base), {}, 5000, 100));
      expect(error.code).toBe('ERR_PG_FEED_INSECURE');
      expect(error.message).toContain(`${server.base}/from`);
      expect(error.message).toContain(`${plain.base}/f`);
      expect(plain.connections()).toBe(0);
    });
  });
});

/** Records of `list` whose bucket (of `buckets`) passes `keep`, at most one per bucket. */
function inBuckets(list: FeedRecord[], buckets: number, keep: (bucket: number) => boolean): FeedRecord[] {
  const seen = new Set<number>();
  return list.filter((r) => {
    const bucket = bucketOfHash(keyHash(recordKey(r.name, r.version)), buckets);
    if (!keep(bucket) || seen.has(bucket)) return false;
    seen.add(bucket);
    return true;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('#range sources: which bucket ranges are fetched (remote.ts, schemas 1 and 2)', () => {
  const big = sampleRecords(3000, 'big');

  it('asks exactly the missing buckets, buckets at most 2048 bytes apart in one request, 8 requests at a time', async () => {
    const path = await feedFile(2, { count: 3000, prefix: 'big' });
    const data = readFileSync(path);
    const { bodyStart, header } = readPreamble(path);
    const index = data.subarray(bodyStart, bodyStart + header.buckets * INDEX_ENTRY_BYTES);
    const bucketsStart = bodyStart + index.length;
    const entry = (bucket: number) => decodeIndexEntry(index, bucket)!;
    const server = await startServer(data);
    const cacheDir = temp();
    const remote = await open(server.source, cacheDir);
    // Every 5th bucket: neighbours are more than 2048 bytes apart, each its own request.
    const spread = inBuckets(big, header.buckets, (b) => b % 5 === 0);
    expect(spread.length).toBeGreaterThan(16);
    for (let b = 5; b < header.buckets; b += 5) expect(entry(b).offset - (entry(b - 5).offset + entry(b - 5).length)).toBeGreaterThan(2048);
    let inFlight = 0;
    let most = 0;
    server.intercept = (_req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      // Each answer is held a little, so that requests overlap.
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        setTimeout(() => {
          inFlight--;
          end(...args);
        }, 30);
        return res;
      }) as typeof res.end;
      return false;
    };
    const before = server.seen.length;
    await lookups(remote, spread);
    const expected = spread.map((r) => entry(bucketOfHash(keyHash(recordKey(r.name, r.version)), header.buckets))).sort((a, b) => a.offset - b.offset);
    const asked = server.seen.slice(before).map((s) => s.range!);
    expect([...asked].sort()).toEqual(expected.map((e) => `bytes=${bucketsStart + e.offset}-${bucketsStart + e.offset + e.length - 1}`).sort());
    expect(most).toBe(8);
    // Neighbouring buckets (at most 2048 bytes apart): one request for a run of them.
    const run = inBuckets(big, header.buckets, (b) => b >= 1 && b <= 3);
    expect(run).toHaveLength(3);
    const next = server.seen.length;
    await lookups(remote, run);
    expect(server.seen.slice(next).map((s) => s.range)).toEqual([`bytes=${bucketsStart + entry(1).offset}-${bucketsStart + entry(3).offset + entry(3).length - 1}`]);
    // Two buckets with one between them: still one request (the gap is under 2048 bytes).
    expect(entry(8).offset - (entry(6).offset + entry(6).length)).toBeLessThanOrEqual(2048);
    const gapped = inBuckets(big, header.buckets, (b) => b === 6 || b === 8);
    const third = server.seen.length;
    await lookups(remote, gapped);
    expect(server.seen.slice(third).map((s) => s.range)).toEqual([`bytes=${bucketsStart + entry(6).offset}-${bucketsStart + entry(8).offset + entry(8).length - 1}`]);
    // All of them again: nothing missing, nothing asked.
    const last = server.seen.length;
    await lookups(remote, [...spread, ...run, ...gapped]);
    expect(server.seen.length).toBe(last);
  });

  it('offline: names how many buckets are missing and the URL (ERR_PG_FEED)', async () => {
    const path = await feedFile(2, { count: 3000, prefix: 'big' });
    const { header } = readPreamble(path);
    const server = await startServer(readFileSync(path));
    const cacheDir = temp();
    await open(server.source, cacheDir);
    const offline = await open(server.source, cacheDir, true);
    const one = await rejected(FeedError, offline.prefetch(inBuckets(big, header.buckets, (b) => b === 2)));
    expect(one.code).toBe('ERR_PG_FEED');
    expect(one.message).toContain(`offline, and 1 page of the feed from ${server.url}/provenance.feed`);
    const two = await rejected(FeedError, offline.prefetch(inBuckets(big, header.buckets, (b) => b === 2 || b === 9)));
    expect(two.message).toContain('2 pages');
  });
});

describe('the page cache and the level-by-level fetch of a schema 3 #range feed (remote-tree.ts)', () => {
  const big = sampleRecords(3000, 'big');

  it('fetches the root, then each level\'s pages, 8 requests at a time, and nothing cached twice', async () => {
    const path = await feedFile(3, { count: 3000, prefix: 'big' });
    const data = readFileSync(path);
    const preamble = readPreamble(path);
    const tree = new TreeReader(preamble.header, { read: (ref) => data.subarray(preamble.bodyStart + ref.offset, preamble.bodyStart + ref.offset + ref.length) }, path);
    const asked: [number, number][] = [];
    let inFlight = 0;
    let most = 0;
    const client = {
      get: async (start: number, end: number) => {
        asked.push([start, end]);
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(10);
        inFlight--;
        return { body: data.subarray(start, end) };
      },
    };
    const dir = temp();
    const fetch = (offline = false) => ({ store: new PageStore(dir, 'the feed'), client, preamble, offline, url: 'https://feeds.example/provenance.feed' });
    // Every 6th bucket: buckets more than 1024 bytes apart, one request each.
    const spread = inBuckets(big, preamble.header.buckets, (b) => b % 6 === 0);
    await prefetchTree(fetch(), spread);
    const root = tree.root;
    expect(asked[0]).toEqual([preamble.bodyStart + root.offset, preamble.bodyStart + root.offset + root.length]);
    const buckets = spread.map((r) => tree.refAt(tree.bucketOf(r.name, r.version), 0));
    expect(asked.slice(-buckets.length).sort((a, b) => a[0] - b[0])).toEqual(buckets.map((ref) => [preamble.bodyStart + ref.offset, preamble.bodyStart + ref.offset + ref.length]).sort((a, b) => a[0] - b[0]));
    expect(most).toBe(8);
    // Cached: each page file holds its bytes under its hash; offline finds them all, asks nothing.
    const count = asked.length;
    await prefetchTree(fetch(true), spread);
    expect(asked.length).toBe(count);
    for (const ref of buckets) expect(readFileSync(join(dir, ref.sha256.toString('hex').slice(0, 2), ref.sha256.toString('hex')))).toEqual(data.subarray(preamble.bodyStart + ref.offset, preamble.bodyStart + ref.offset + ref.length));
    // Offline, one bucket more: refused, naming the feed and the count.
    const more = inBuckets(big, preamble.header.buckets, (b) => b === 1);
    const error = await rejected(FeedError, prefetchTree(fetch(true), more));
    expect(error.code).toBe('ERR_PG_FEED_OFFLINE');
    expect(error.message).toContain('1 page of the feed from https://feeds.example/provenance.feed');
    const two = await rejected(FeedError, prefetchTree(fetch(true), inBuckets(big, preamble.header.buckets, (b) => b === 1 || b === 2)));
    expect(two.message).toContain('2 pages');
  });

  it('a wrong page is named by its level, position and byte range; a short answer by the bytes expected', async () => {
    const path = await feedFile(3);
    const data = readFileSync(path);
    const preamble = readPreamble(path);
    const tree = new TreeReader(preamble.header, { read: (ref) => data.subarray(preamble.bodyStart + ref.offset, preamble.bodyStart + ref.offset + ref.length) }, path);
    const root = tree.root;
    let lie: (body: Buffer) => Buffer = (body) => Buffer.from(body).fill(0x7a, 5, 6);
    const client = { get: async (start: number, end: number) => ({ body: lie(data.subarray(start, end)) }) };
    const fetch = () => ({ store: new PageStore(temp(), 'f'), client, preamble, offline: false, url: 'https://feeds.example/provenance.feed' });
    const wrong = await rejected(FeedError, prefetchTree(fetch(), wanted));
    expect(wrong.code).toBe('ERR_PG_FEED_CORRUPT');
    const first = preamble.bodyStart + root.offset;
    expect(wrong.message).toContain(`GET https://feeds.example/provenance.feed: bytes ${first}-${first + root.length - 1} (page ${root.level}/0)`);
    lie = (body) => body.subarray(2);
    const short = await rejected(FeedError, prefetchTree(fetch(), wanted));
    expect(short.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(short.message).toContain(`returned ${root.length - 2} bytes, expected ${root.length}`);
  });

  it('a page file that cannot be put in place is an error naming it, and leaves no temp file', () => {
    const dir = temp();
    const bytes = Buffer.from('page bytes');
    const ref: PageRef = { level: 1, position: 2, offset: 0, length: bytes.length, sha256: sha256Of(bytes) };
    const hex = ref.sha256.toString('hex');
    const file = join(dir, hex.slice(0, 2), hex);
    // A folder (not empty) where the page file goes: the rename fails.
    mkdirSync(join(file, 'inside'), { recursive: true });
    const store = new PageStore(dir, 'the feed');
    const error = (() => {
      try {
        store.put(ref, bytes);
      } catch (e) {
        return e as FeedError;
      }
      throw new Error('put succeeded');
    })();
    expect(error).toBeInstanceOf(FeedError);
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    expect(readdirSync(join(dir, hex.slice(0, 2)))).toEqual([hex]);
    // Not cached: a read is the offline error naming the page and the feed.
    const offline = (() => {
      try {
        store.read(ref);
      } catch (e) {
        return e as FeedError;
      }
      throw new Error('read succeeded');
    })();
    expect(offline.code).toBe('ERR_PG_FEED_OFFLINE');
    expect(offline.file).toBe('the feed');
    expect(offline.message).toContain('page 1/2 of the feed the feed');
  });
});

describe('#range sources: what the cache slot holds (remote.ts, remote-tree.ts)', () => {
  it.each([3, 2])('holds meta.json, the copy and (schema 3) the page folder, no temp file; an old copy still in use is kept (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)));
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    await lookups(first);
    const slot = slotOf(cacheDir, server.url + '/provenance.feed');
    expect(readdirSync(slot).sort()).toEqual(schema === 3 ? [basename(first.path), 'meta.json', 'pages'] : [basename(first.path), 'meta.json']);
    // The same feed under a new ETag, its copy written 11 minutes ago: kept and used.
    const old = Date.now() / 1000 - 11 * 60;
    utimesSync(first.path, old, old);
    server.etag = '"v1-again"';
    const again = await open(server.source, cacheDir);
    expect(again.path).toBe(first.path);
    await lookups(again);
    expect(readdirSync(slot).sort()).toEqual(schema === 3 ? [basename(first.path), 'meta.json', 'pages'] : [basename(first.path), 'meta.json']);
    // A file of another name, however old, is not the cache's to remove.
    for (const name of ['notes-feed-1', 'xhead-' + 'c'.repeat(32)]) {
      writeFileSync(join(slot, name), 'mine');
      utimesSync(join(slot, name), old, old);
    }
    server.body = readFileSync(await feedFile(schema, { serial: 6 }));
    server.etag = '"v2"';
    await open(server.source, cacheDir);
    expect(readdirSync(slot)).toEqual(expect.arrayContaining(['notes-feed-1', 'xhead-' + 'c'.repeat(32)]));
  });

  it('schema 3: a page never fetched is an offline error naming the feed\'s URL, at lookup', async () => {
    const server = await startServer(readFileSync(await feedFile(3)));
    const cacheDir = temp();
    await open(server.source, cacheDir);
    const offline = await open(server.source, cacheDir, true);
    const feed = openFeed(offline.path, { publicKeys: [keys.publicKey], stateDir: temp(), pages: offline.pages! });
    try {
      let error: unknown;
      try {
        feed.lookup(wanted[0]!.name, wanted[0]!.version);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FeedError);
      expect(error).toMatchObject({ code: 'ERR_PG_FEED_OFFLINE', file: `${server.url}/provenance.feed` });
    } finally {
      feed.close();
    }
  });

  it('schema 2: an index ending exactly where the first 4 KB end is not asked again', async () => {
    const path = await feedFile(2);
    const { header } = readPreamble(path);
    const bodyStart = 4096 - header.buckets * INDEX_ENTRY_BYTES;
    const body = withLongHeader(path, noteFor(path, bodyStart - (SIG_PREFIX.length + 89)));
    const server = await startServer(body);
    const remote = await open(server.source, temp());
    expect(readPreamble(remote.path).bodyStart).toBe(bodyStart);
    expect(server.seen.map((s) => s.range)).toEqual(['bytes=0-4095']);
    await lookups(remote);
  });

  it('a verified page stays in memory for this process, read from disk once', () => {
    const dir = temp();
    const bytes = Buffer.from('page bytes');
    const ref: PageRef = { level: 0, position: 0, offset: 0, length: bytes.length, sha256: sha256Of(bytes) };
    const file = join(dir, ref.sha256.toString('hex').slice(0, 2), ref.sha256.toString('hex'));
    const writer = new PageStore(dir, 'f');
    writer.put(ref, bytes);
    const reader = new PageStore(dir, 'f');
    expect(reader.load(ref)).toEqual(bytes);
    rmSync(file);
    expect(writer.load(ref)).toEqual(bytes);
    expect(reader.load(ref)).toEqual(bytes);
    expect(new PageStore(dir, 'f').load(ref)).toBeUndefined();
  });
});

describe('#range sources: a broken head, a lost copy (remote.ts)', () => {
  it('a file that ends inside its preamble is refused as not a feed, after the one request that read it whole', async () => {
    const body = withLongHeader(await feedFile(3), 9000).subarray(0, 2000);
    const server = await startServer(body);
    expect(await code(open(server.source, temp()))).toBe('ERR_PG_FEED_FORMAT');
    expect(server.seen.map((s) => s.range)).toEqual(['bytes=0-4095']);
  });

  it.each([3, 2])('a copy removed from the slot (meta.json left) is fetched again, though the ETag is the same (schema %i)', async (schema) => {
    const path = await feedFile(schema);
    const server = await startServer(readFileSync(path));
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    if (schema === 3) expect(statSync(first.path).size).toBe(readPreamble(path).bodyStart);
    rmSync(first.path);
    const before = server.seen.length;
    const again = await open(server.source, cacheDir);
    // Nothing cached to validate: an unconditional request, no If-Range of the lost copy's ETag.
    expect(server.seen[before]).toEqual({ range: 'bytes=0-4095', status: 206, bytes: 4096 });
    expect(again.path).toBe(first.path);
    await lookups(again);
    // Lost again, and meanwhile the feed changed: the new feed is read, not refused.
    rmSync(again.path);
    server.body = readFileSync(await feedFile(schema, { serial: 6, prefix: 'next', count: 300 }));
    server.etag = '"v2"';
    const next = await open(server.source, cacheDir);
    await lookups(next, sampleRecords(300, 'next').filter((_, i) => i % 9 === 0));
  });
});

describe('#range sources: a signed flat index with a malformed entry (remote.ts)', () => {
  it('fetches the sound buckets, leaves the malformed entry to the lookup that refuses it (ERR_PG_FEED_CORRUPT)', async () => {
    const privateKey = readPrivateKey(keys.privateKeyPath);
    const line = (r: FeedRecord) => Buffer.from(JSON.stringify(r) + '\n');
    const bucketOf = (r: FeedRecord) => bucketOfHash(keyHash(recordKey(r.name, r.version)), 2);
    const pool = sampleRecords(20, 'flat');
    const placed = [pool.find((r) => bucketOf(r) === 0)!, pool.find((r) => bucketOf(r) === 1)!];
    const buckets = placed.map(line);
    const index = Buffer.alloc(2 * INDEX_ENTRY_BYTES);
    encodeIndexEntry(index, 0, 0, buckets[0]!.length, createHash('sha256').update(buckets[0]!).digest());
    index.write('z'.repeat(84) + '\n', INDEX_ENTRY_BYTES, 'latin1');
    const body = Buffer.concat([index, ...buckets]);
    const header = {
      schema: 1, serial: 1, generatedAt: new Date(Date.now() - 60_000).toISOString(), expiresAt: new Date(Date.now() + 86_400_000).toISOString(), records: 2,
      keyId: keyId(privateKey), buckets: 2, indexSha256: createHash('sha256').update(index).digest('hex'), bodyBytes: body.length,
    };
    const signed = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
    const server = await startServer(Buffer.concat([signed, Buffer.from(`${SIG_PREFIX}${sign(null, signed, privateKey).toString('base64')}\n`), body]));
    const remote = await open(server.source, temp());
    await remote.prefetch(placed.map((r) => ({ name: r.name, version: r.version })));
    const feed = openFeed(remote.path, { publicKeys: [keys.publicKey], stateDir: temp() });
    try {
      expect(feed.lookup(placed[0]!.name, placed[0]!.version)).toEqual(placed[0]);
      let error: unknown;
      try {
        feed.lookup(placed[1]!.name, placed[1]!.version);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT' });
    } finally {
      feed.close();
    }
  });
});

describe('#range sources: plain http (remote.ts)', () => {
  it('refuses plain http off the loopback in any case, and only a URL that is plain http', async () => {
    const cacheDir = temp();
    // 0.0.0.0 is not a loopback name: refused before any request (a request would be refused by the kernel).
    for (const url of ['http://0.0.0.0:1/f#range', 'HTTP://0.0.0.0:1/f#range', 'Http://0.0.0.0:1/f#range']) expect(await code(open(url, cacheDir)), url).toBe('ERR_PG_FEED');
    // https that merely mentions http: further on is not plain http.
    for (const url of ['https://127.0.0.1:1/f?from=http://0.0.0.0/#range', 'https://127.0.0.1:1/http:/f#range']) expect(await code(open(url, cacheDir)), url).toBe('ERR_PG_FEED_DOWNLOAD');
  });
});

/** A schema 1 feed signed over exactly these buckets (raw NDJSON) and index entries (or a malformed entry text). */
function flatFeed(buckets: { bytes: Buffer; entry?: string }[], records: number): Buffer {
  const privateKey = readPrivateKey(keys.privateKeyPath);
  const index = Buffer.alloc(buckets.length * INDEX_ENTRY_BYTES);
  let offset = 0;
  buckets.forEach((b, i) => {
    if (b.entry !== undefined) index.write(b.entry, i * INDEX_ENTRY_BYTES, 'latin1');
    else encodeIndexEntry(index, i * INDEX_ENTRY_BYTES, offset, b.bytes.length, createHash('sha256').update(b.bytes).digest());
    offset += b.bytes.length;
  });
  const body = Buffer.concat([index, ...buckets.map((b) => b.bytes)]);
  const header = {
    schema: 1, serial: 1, generatedAt: new Date(Date.now() - 60_000).toISOString(), expiresAt: new Date(Date.now() + 86_400_000).toISOString(), records,
    keyId: keyId(privateKey), buckets: buckets.length, indexSha256: createHash('sha256').update(index).digest('hex'), bodyBytes: body.length,
  };
  const signed = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
  return Buffer.concat([signed, Buffer.from(`${SIG_PREFIX}${sign(null, signed, privateKey).toString('base64')}\n`), body]);
}

describe('#range sources: bucket ranges at the merge boundary, short and long answers (remote.ts)', () => {
  // Five buckets, one record each, padded to chosen sizes: bucket 2 (between the two looked up) is the gap.
  const pool = sampleRecords(200, 'gap');
  const padded = (bucket: number, size: number): FeedRecord => {
    const r = pool.find((p) => bucketOfHash(keyHash(recordKey(p.name, p.version)), 5) === bucket)!;
    const base = JSON.stringify({ ...r, note: '' }).length + 1;
    return { ...r, note: 'x'.repeat(size - base) } as FeedRecord;
  };
  const feedWithGap = (gap: number) => {
    const placed = [padded(0, 4000), padded(1, 500), padded(2, gap), padded(3, 500), padded(4, 600)];
    const lines = placed.map((r) => Buffer.from(JSON.stringify(r) + '\n'));
    expect(lines[2]!.length).toBe(gap);
    return { body: flatFeed(lines.map((bytes) => ({ bytes })), 5), wanted: [placed[1]!, placed[3]!] };
  };

  it('buckets exactly 2048 bytes apart share one request; 2049 bytes apart do not', async () => {
    for (const [gap, requests] of [[2048, 1], [2049, 2]] as const) {
      const { body, wanted: pair } = feedWithGap(gap);
      const server = await startServer(body);
      const remote = await open(server.source, temp());
      const before = server.seen.length;
      await lookups(remote, pair);
      expect(server.seen.length - before, String(gap)).toBe(requests);
    }
  });

  it('a short answer to a bucket range names the URL and the bytes expected; a longer one is cut to what was asked', async () => {
    const { body, wanted: pair } = feedWithGap(3000);
    const server = await startServer(body);
    const remote = await open(server.source, temp());
    const asked = (seen: Seen) => {
      const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(seen.range!)!;
      return Number(b) - Number(a) + 1;
    };
    server.intercept = (req, res, seen) => {
      const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range))!;
      const data = body.subarray(Number(a), Number(b) + 1 - 7);
      seen.status = 206;
      res.writeHead(206, { etag: '"v1"', 'content-range': `bytes ${a}-${Number(b) - 7}/${body.length}` }).end(data);
      return true;
    };
    const short = await rejected(FeedError, remote.prefetch(pair));
    expect(short.code).toBe('ERR_PG_FEED');
    expect(short.message).toContain(`${server.url}/provenance.feed`);
    expect(short.message).toMatch(new RegExp(`expected (${server.seen.slice(-2).map(asked).join('|')})$`));
    await sleep(100); // the other request of that prefetch ends
    // A server sending more than the range asked (the range, then more): the range's bytes are taken, the rest dropped.
    server.intercept = (req, res, seen) => {
      const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range))!;
      seen.status = 206;
      res.writeHead(206, { etag: '"v1"' });
      res.write(body.subarray(Number(a), Number(b) + 1));
      setTimeout(() => res.write(Buffer.alloc(300, 0x20)), 20);
      setTimeout(() => res.end(Buffer.alloc(300, 0x20)), 40);
      return true;
    };
    const fetched = remote.bytesFetched;
    await lookups(remote, pair);
    expect(remote.bytesFetched - fetched).toBe(server.seen.slice(-2).reduce((sum, s) => sum + asked(s), 0));
  });
});

describe('#range sources: what is not a feed, and what the refusals name (remote.ts)', () => {
  it('a server answering with something that is not a feed is refused as not a feed (ERR_PG_FEED_FORMAT)', async () => {
    for (const text of ['<html>not found</html>\n'.repeat(300), MAGIC + '{"schema":3,\n'.repeat(300), MAGIC + 'not json\n' + 'x'.repeat(5000)]) {
      const server = await startServer(Buffer.from(text));
      expect(await code(open(server.source, temp())), text.slice(0, 30)).toBe('ERR_PG_FEED_FORMAT');
    }
  });

  it('names the URL when refusing plain http or an offline run without a copy, and the size the header says', async () => {
    const plain = await rejected(FeedError, open('http://0.0.0.0:1/f#range', temp()));
    expect(plain.message).toContain('http://0.0.0.0:1/f');
    const path = await feedFile(3);
    const server = await startServer(readFileSync(path));
    const offline = await rejected(FeedError, open(server.source, temp(), true));
    expect(offline.message).toContain(`${server.url}/provenance.feed`);
    server.body = Buffer.concat([server.body, Buffer.from('more')]);
    const size = await rejected(FeedError, open(server.source, temp()));
    expect(size.code).toBe('ERR_PG_FEED_CORRUPT');
    const { bodyStart, header } = readPreamble(path);
    expect(size.message).toContain(`${server.body.length} bytes, its header says ${bodyStart + header.bodyBytes}`);
  });
});

describe('what a restored cache or a hostile server cannot make a #range source do', () => {
  it.each([3, 2])('a meta.json this machine did not write is ignored: a 304 never confirms an older head it pairs with the current ETag (schema %i)', async (schema) => {
    const older = readFileSync(await feedFile(schema, { serial: 5 }));
    const newer = readFileSync(await feedFile(schema, { serial: 6, count: 300, prefix: 'newer' }));
    const server = await startServer(older, { etag: '"A"' });
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    await lookups(first);
    // The publisher ships B; a restored cache pairs B's ETag with A's head (a MAC made without this machine's secret).
    server.body = newer;
    server.etag = '"B"';
    const slot = slotOf(cacheDir, server.url + '/provenance.feed');
    const meta = JSON.parse(readFileSync(join(slot, 'meta.json'), 'utf8'));
    const other = temp();
    writeMeta(slot, other, { url: meta.url, etag: '"B"', file: meta.file });
    const again = await open(server.source, cacheDir);
    expect(server.seen.at(-1)).toEqual({ range: 'bytes=0-4095', status: 206, bytes: 4096 });
    expect(again.path).not.toBe(first.path);
    expect(readPreamble(again.path).header.serial).toBe(6);
    // The same forged meta.json with this machine's MAC is what the machine itself wrote: then the 304 stands.
    writeMeta(slot, cacheDir, { url: meta.url, etag: '"B"', file: basename(again.path) });
    const third = await open(server.source, cacheDir);
    expect(server.seen.at(-1)).toEqual({ range: 'bytes=0-4095', ifNoneMatch: '"B"', status: 304, bytes: 0 });
    expect(third.path).toBe(again.path);
  });

  it.each([3, 2])('a head that is not signed by a pinned key is refused before anything is kept or fetched; the last good copy stays (schema %i)', async (schema) => {
    const server = await startServer(readFileSync(await feedFile(schema)));
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    const slot = slotOf(cacheDir, server.url + '/provenance.feed');
    const metaBefore = readFileSync(join(slot, 'meta.json'));
    const stranger = makeKeys(temp('pg-keys-'));
    server.body = readFileSync(await buildTestFeed(stranger, sampleRecords(50, 'stranger'), join(temp(), 'provenance.feed'), { schema, serial: 9 }));
    server.etag = '"other"';
    const requests = server.seen.length;
    expect(await code(open(server.source, cacheDir))).toBe('ERR_PG_FEED_KEY');
    // Only the head request: a schema 2 index was not asked for.
    expect(server.seen.length).toBe(requests + 1);
    expect(readFileSync(join(slot, 'meta.json')).equals(metaBefore)).toBe(true);
    expect(readdirSync(slot).filter((name) => /^(feed|head)-/.test(name))).toEqual([basename(first.path)]);
    // Offline, the last good copy still answers.
    expect((await open(server.source, cacheDir, true)).path).toBe(first.path);
  });

  it('schema 2: a forged header cannot size the index request (a billion buckets)', async () => {
    const genuine = readFileSync(await feedFile(2));
    const preamble = readPreamble(await feedFile(2));
    const header = { ...JSON.parse(genuine.toString('utf8', MAGIC.length, genuine.indexOf(0x0a, MAGIC.length))), buckets: 1e9 };
    const signed = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
    const forged = Buffer.concat([signed, genuine.subarray(preamble.signed.length, preamble.bodyStart), genuine.subarray(preamble.bodyStart)]);
    const server = await startServer(forged);
    expect(await code(open(server.source, temp()))).toBe('ERR_PG_FEED_SIGNATURE');
    expect(server.seen.map((s) => s.range)).toEqual(['bytes=0-4095']);
  });

  it('a meta.json that is a FIFO or a device, or a slot that is a symlink, is no cache: never read, followed or written through', async () => {
    const server = await startServer(readFileSync(await feedFile(3)));
    const cacheDir = temp();
    await open(server.source, cacheDir);
    const slot = slotOf(cacheDir, server.url + '/provenance.feed');
    rmSync(join(slot, 'meta.json'));
    execFileSync('mkfifo', [join(slot, 'meta.json')]);
    const fifo = await open(server.source, cacheDir);
    expect(server.seen.at(-1)).toEqual({ range: 'bytes=0-4095', status: 206, bytes: 4096 });
    expect(statSync(join(slot, 'meta.json')).isFile()).toBe(true);
    rmSync(join(slot, 'meta.json'));
    execFileSync('ln', ['-s', '/dev/zero', join(slot, 'meta.json')]);
    expect((await open(server.source, cacheDir)).path).toBe(fifo.path);
    // The slot itself a symlink to a folder elsewhere: that folder is left alone, the slot made anew.
    const victim = temp();
    writeFileSync(join(victim, 'feed-notes.md'), 'keep');
    utimesSync(join(victim, 'feed-notes.md'), new Date(0), new Date(0));
    rmSync(slot, { recursive: true });
    execFileSync('ln', ['-s', victim, slot]);
    await open(server.source, cacheDir);
    expect(readdirSync(victim)).toEqual(['feed-notes.md']);
    expect(statSync(slot).isDirectory()).toBe(true);
  });

  it('plain http goes to the loopback only, by the parsed host: a loopback address as user info does not pass', async () => {
    for (const url of ['http://127.0.0.1:x@127.0.0.2:1/f#range', 'http://localhost@example.com/f#range']) {
      expect(await code(openRemoteFeedFile(url, { cacheDir: temp(), stateDir: temp(), offline: false, publicKeys: [keys.publicKey] })), url).toBe('ERR_PG_FEED');
    }
  });

  it('a server that trickles bytes is cut off when the time is up, whatever it keeps sending', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(206, { 'content-range': 'bytes 0-4095/10000' });
      const timer = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const started = Date.now();
    const error = await rejected(FeedError, rangeGet(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/f`), { range: 'bytes=0-4095' }, 400, 4096));
    expect(error.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(error.message).toContain('no complete answer within 0.4 s');
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('a cached head is the feed its name hashes', () => {
  it('a head file whose bytes were swapped for another signed feed (name and meta.json kept) is fetched again', async () => {
    const server = await startServer(readFileSync(await feedFile(3, { serial: 6, count: 300, prefix: 'current' })));
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    // An older signed feed's preamble written under the current head's name.
    const older = readFileSync(await feedFile(3, { serial: 5 }));
    writeFileSync(first.path, older.subarray(0, readPreamble(await feedFile(3, { serial: 5 })).bodyStart));
    const again = await open(server.source, cacheDir);
    expect(server.seen.at(-1)).toEqual({ range: 'bytes=0-4095', status: 206, bytes: 4096 });
    expect(readPreamble(again.path).header.serial).toBe(6);
  });
});

describe('a 304 confirms only what was asked about', () => {
  it('a 304 to the unconditional head request (nothing usable cached) is refused, never read as "keep the copy"', async () => {
    const server = await startServer(readFileSync(await feedFile(3, { serial: 6, count: 300, prefix: 'current' })));
    const cacheDir = temp();
    const first = await open(server.source, cacheDir);
    // The cached head swapped for an older feed's; the server (hostile) answers 304 to anything.
    writeFileSync(first.path, readFileSync(await feedFile(3, { serial: 5 })).subarray(0, readPreamble(await feedFile(3, { serial: 5 })).bodyStart));
    server.intercept = (_req, res, seen) => {
      seen.status = 304;
      res.writeHead(304).end();
      return true;
    };
    expect(await code(open(server.source, cacheDir))).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(server.seen.at(-1)!.ifNoneMatch).toBeUndefined();
  });
});
