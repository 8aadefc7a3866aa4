/**
 * Unit tests of the `#range` feed client (src/feed/remote.ts, remote-tree.ts, range-http.ts),
 * written against the mutants Stryker left alive (docs/mutation.md, run B): what is fetched
 * (ranges, validators), what is kept on disk, and what a lying or changing server gets. In-process:
 * a range server on 127.0.0.1 in this file, real feeds built and signed with the project's builder.
 */
import { createHash, sign } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FeedError } from '../src/errors';
import { INDEX_ENTRY_BYTES, MAGIC, SIG_PREFIX } from '../src/feed/format';
import { readPrivateKey } from '../src/feed/keys';
import { readPreamble } from '../src/feed/preamble';
import { openFeed } from '../src/feed/reader';
import { openRemoteFeedFile, type RemoteFeedFile } from '../src/feed/remote';
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

const servers: Server[] = [];
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

async function feedFile(schema: number, options: { serial?: number; count?: number; prefix?: string } = {}): Promise<string> {
  const list = options.prefix ? sampleRecords(options.count ?? 600, options.prefix) : records.slice(0, options.count ?? 600);
  return buildTestFeed(keys, list, join(temp(), 'provenance.feed'), { schema, serial: options.serial ?? 5 });
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
  const feed = openFeed(remote.path, { publicKeys: [keys.publicKey], cacheDir: temp(), ...(remote.pages ? { pages: remote.pages } : {}) });
  try {
    for (const r of list) expect(feed.lookup(r.name, r.version)).toEqual(r);
  } finally {
    feed.close();
  }
}

const slotOf = (cacheDir: string, url: string) => join(cacheDir, 'feeds', `range-${createHash('sha256').update(url).digest('hex').slice(0, 24)}`);
const open = (source: string, cacheDir: string, offline = false) => openRemoteFeedFile(source, { cacheDir, offline });
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
    expect(meta).toEqual({ url: server.url.replace('http:', 'HTTP:') + '/provenance.feed', etag: '"v1"', file: expect.stringMatching(schema === 3 ? /^head-[0-9a-f]{32}$/ : /^feed-[0-9a-f]{32}$/) });
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
    server.body = readFileSync(await feedFile(schema, { serial: 6, prefix: 'next', count: 100 }));
    const second = await open(server.source, cacheDir);
    expect(second.path).not.toBe(first.path);
    await lookups(second, sampleRecords(100, 'next').filter((_, i) => i % 9 === 0));
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
      writeFileSync(join(slot, 'meta.json'), JSON.stringify({ ...meta, file }));
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
