/**
 * Unit tests of the smaller src/feed modules, one behaviour each, written against the mutants
 * Stryker left alive (docs/mutation.md): merge, shard, key-ignore, range-http. In-process and
 * fast: local servers on 127.0.0.1, temp dirs, no installs.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FeedError, RecordsError, UsageError } from '../src/errors';
import { gitIgnores, gitWorkTree, ignorePrivateKey } from '../src/feed/key-ignore';
import { generateKeyPair, keyId, parsePrivateKey, parsePublicKey, privateKeyFromEnv, publicKeyOf, rawPublicKey } from '../src/feed/keys';
import { buildFeed } from '../src/feed/build';
import { mergeFeed } from '../src/feed/merge';
import { openFeed, verifyFeed } from '../src/feed/reader';
import { bucketCount, bucketOfHash, encodeIndexEntry, INDEX_ENTRY_BYTES, keyHash, MAGIC, recordKey, SIG_PREFIX } from '../src/feed/format';
import type { FeedRecord } from '../src/types';
import { rangeGet } from '../src/feed/range-http';
import { isRangeSource, openRemoteFeedFile } from '../src/feed/remote';
import { coalesce, PageStore, prefetchTree } from '../src/feed/remote-tree';
import { sha256Of, type PageRef } from '../src/feed/tree';
import { acceptedFeed, readFeedState, recordSerial, resetTrust, statePath } from '../src/feed/state';
import { feedRecords, newPackages, openBase, updateFeed } from '../src/feed/update';
import { readPreamble } from '../src/feed/preamble';
import { readPrivateKey } from '../src/feed/keys';
import { tmpdir } from 'node:os';
import { inShard, parseShard, shardOf } from '../src/feed/shard';
import { rejected, thrown } from './helpers/errors';
import { buildTestFeed, makeKeys, sampleRecords, writeNdjson } from './helpers/feed-fixtures';
import { startRangeServer, type RangeServer } from './helpers/feed-server';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-feed-units-');

describe('feed merge (mergeFeed)', () => {
  const keys = makeKeys(temp('pg-keys-'));
  const records = sampleRecords(12);
  const dir = temp();
  const first = writeNdjson(join(dir, 'a.ndjson'), records.slice(0, 5));
  const second = writeNdjson(join(dir, 'b.ndjson'), records.slice(5));
  const signing = { privateKeyPath: keys.privateKeyPath, serial: 7, now: new Date('2026-11-01T00:00:00Z') };

  it('signs the records of every file, in any order, into one feed', async () => {
    const { path, header } = await mergeFeed({ ...signing, recordFiles: [second, first], out: join(dir, 'merged.feed') });
    expect(header.records).toBe(12);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: join(dir, 'cache'), now: signing.now });
    try {
      for (const r of records) expect(feed.lookup(r.name, r.version)).toEqual(r);
    } finally {
      feed.close();
    }
  });

  it('refuses no files, a missing file and a file given twice before anything is read or written (ERR_PG_RECORDS)', async () => {
    // No key at all: each refusal comes before the key is read.
    const out = join(dir, 'refused.feed');
    const none = await rejected(RecordsError, mergeFeed({ recordFiles: [], out }));
    expect(none.code).toBe('ERR_PG_RECORDS');
    const missing = await rejected(RecordsError, mergeFeed({ recordFiles: [first, join(dir, 'missing.ndjson')], out }));
    expect(missing.code).toBe('ERR_PG_RECORDS');
    expect(missing.file).toBe(join(dir, 'missing.ndjson'));
    const twice = await rejected(RecordsError, mergeFeed({ recordFiles: [first, second, first], out }));
    expect(twice.code).toBe('ERR_PG_RECORDS');
    expect(twice.file).toBe(first);
    expect(existsSync(out)).toBe(false);
  });

  it('an empty list with a key is still refused, not signed as an empty feed', async () => {
    const out = join(dir, 'empty.feed');
    expect((await rejected(RecordsError, mergeFeed({ ...signing, recordFiles: [], out }))).code).toBe('ERR_PG_RECORDS');
    expect(existsSync(out)).toBe(false);
  });
});

describe('shards', () => {
  it('parses I/N within 1 ≤ I ≤ N ≤ 10000, trimmed, and nothing else', () => {
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
    expect(parseShard(' 3/3 ')).toEqual({ index: 3, count: 3 });
    expect(parseShard('10000/10000')).toEqual({ index: 10000, count: 10000 });
    expect(parseShard('1/10000')).toEqual({ index: 1, count: 10000 });
    for (const bad of ['0/1', '2/1', '1/0', '1/10001', '10001/10001', 'x1/2', '1/2x', '1/2/3', '-1/2', '1.5/2', '', '/']) {
      expect(thrown(UsageError, () => parseShard(bad)).code, bad).toBe('ERR_PG_USAGE');
    }
  });

  it('numbers shards from 1 to N and spreads a list over all of them', () => {
    const items = sampleRecords(200).map((r) => ({ name: r.name, version: r.version }));
    const seen = new Set(items.map((i) => shardOf(i.name, i.version, 4)));
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
    for (const i of items) expect(shardOf(i.name, i.version, 1)).toBe(1);
    const parts = [1, 2, 3, 4].map((index) => inShard(items, { index, count: 4 }));
    expect(parts.every((p) => p.length > 20)).toBe(true);
    expect(parts.flat()).toHaveLength(items.length);
  });
});

describe('feed keygen in a git work tree (key-ignore)', () => {
  const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });

  it('finds the nearest ancestor holding .git, and none outside a work tree', () => {
    const root = temp();
    expect(gitWorkTree(join(root, 'a/b'))).toBeUndefined();
    mkdirSync(join(root, '.git'));
    expect(gitWorkTree(join(root, 'a/b'))).toBe(root);
    expect(gitWorkTree(root)).toBe(root);
    mkdirSync(join(root, 'a/.git'), { recursive: true });
    expect(gitWorkTree(join(root, 'a/b/c'))).toBe(join(root, 'a'));
  });

  it('adds /feed.key once, on its own line, keeping what the .gitignore had', () => {
    const root = temp();
    mkdirSync(join(root, '.git'));
    const keys = join(root, 'keys');
    const path = ignorePrivateKey(keys)!;
    expect(path).toBe(join(keys, '.gitignore'));
    const created = readFileSync(path, 'utf8');
    expect(created).toMatch(/^# .*\n\/feed\.key\n$/);
    expect(ignorePrivateKey(keys)).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe(created);
    writeFileSync(path, 'a.txt\n');
    ignorePrivateKey(keys);
    expect(readFileSync(path, 'utf8')).toMatch(/^a\.txt\n# .*\n\/feed\.key\n$/);
  });

  it('leaves a .gitignore alone that already names feed.key, /feed.key (CRLF, padded), and ignores lookalikes', () => {
    const root = temp();
    mkdirSync(join(root, '.git'));
    for (const [i, text] of ['x\r\nfeed.key\r\n', '  /feed.key  \n', 'feed.key'].entries()) {
      const dir = join(root, `k${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, '.gitignore'), text);
      ignorePrivateKey(dir);
      expect(readFileSync(join(dir, '.gitignore'), 'utf8'), JSON.stringify(text)).toBe(text);
    }
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, '.gitignore'), 'feed.keys\n#feed.key\n');
    ignorePrivateKey(other);
    expect(readFileSync(join(other, '.gitignore'), 'utf8')).toMatch(/^feed\.keys\n#feed\.key\n# .*\n\/feed\.key\n$/);
  });

  it('asks git whether it ignores a file: yes, no, or cannot say', () => {
    const root = temp();
    git(root, ['init', '-q']);
    writeFileSync(join(root, '.gitignore'), 'secret\n');
    writeFileSync(join(root, 'secret'), '');
    writeFileSync(join(root, 'public'), '');
    expect(gitIgnores(join(root, 'secret'))).toBe(true);
    expect(gitIgnores(join(root, 'public'))).toBe(false);
    // Outside any work tree git exits 128: no answer.
    const plain = temp();
    writeFileSync(join(plain, 'secret'), '');
    expect(gitIgnores(join(plain, 'secret'))).toBeUndefined();
    // A folder that does not exist cannot be git's cwd: no answer either.
    expect(gitIgnores(join(plain, 'missing/secret'))).toBeUndefined();
  });
});

describe('range requests (range-http)', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse) => void;
  let handler: Handler = (_req, res) => res.end();
  const seen: IncomingMessage[] = [];
  let server: Server;
  let base = '';
  const ready = new Promise<void>((resolve) => {
    server = createServer((req, res) => {
      seen.push(req);
      handler(req, res);
    });
    server.listen(0, '127.0.0.1', () => {
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve();
    });
  });
  afterAll(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const get = async (path: string, maxBody = 1000, timeoutMs = 5000, headers: Record<string, string> = { range: 'bytes=0-9' }) => {
    await ready;
    return rangeGet(new URL(path, base), headers, timeoutMs, maxBody);
  };
  const downloadError = async (promise: Promise<unknown>) => (await rejected(FeedError, promise)).code;

  it('sends the headers given and returns status, headers and body', async () => {
    handler = (req, res) => res.writeHead(206, { 'content-range': 'bytes 0-9/100', etag: '"e"' }).end(`got ${req.headers.range}`);
    const answer = await get('/f', 1000, 5000, { range: 'bytes=0-9', 'if-range': '"e"' });
    expect(answer.status).toBe(206);
    expect(answer.headers.etag).toBe('"e"');
    expect(answer.body.toString()).toBe('got bytes=0-9');
    expect(seen.at(-1)!.headers['if-range']).toBe('"e"');
  });

  it('keeps a body of exactly maxBody bytes, and cuts off a longer one instead of buffering it', async () => {
    handler = (_req, res) => res.writeHead(200).end(Buffer.alloc(64, 7));
    expect((await get('/exact', 64)).body).toEqual(Buffer.alloc(64, 7));
    handler = (_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(40, 1));
      setTimeout(() => res.end(Buffer.alloc(40, 2)), 30);
    };
    const cut = await get('/long', 64);
    expect(cut.status).toBe(200);
    expect(cut.body).toEqual(Buffer.alloc(40, 1));
  });

  it('follows 301, 302, 303, 307 and 308 to the target on the same loopback host', async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      handler = (req, res) => (req.url === '/from' ? res.writeHead(status, { location: '/to' }).end() : res.writeHead(206).end(req.url));
      const answer = await get('/from');
      expect(answer.status, String(status)).toBe(206);
      expect(answer.body.toString()).toBe('/to');
    }
  });

  it('follows at most 5 redirects', async () => {
    handler = (req, res) => {
      const n = Number(req.url!.slice(1));
      if (n < 5) res.writeHead(302, { location: `/${n + 1}` }).end();
      else res.writeHead(206).end('five');
    };
    expect((await get('/0')).body.toString()).toBe('five');
    handler = (req, res) => res.writeHead(302, { location: `/${Number(req.url!.slice(1)) + 1}` }).end();
    const before = seen.length;
    expect(await downloadError(get('/0'))).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(seen.length - before).toBe(6);
  });

  it('refuses a redirect without a Location, and one to plain http off the loopback', async () => {
    handler = (_req, res) => res.writeHead(302).end();
    expect(await downloadError(get('/nowhere'))).toBe('ERR_PG_FEED_DOWNLOAD');
    const before = seen.length;
    handler = (_req, res) => res.writeHead(302, { location: 'http://192.0.2.1/f' }).end();
    expect(await downloadError(get('/away'))).toBe('ERR_PG_FEED_INSECURE');
    handler = (_req, res) => res.writeHead(307, { location: 'ftp://127.0.0.1/f' }).end();
    expect(await downloadError(get('/ftp'))).toBe('ERR_PG_FEED_INSECURE');
    expect(seen.length - before).toBe(2);
  });

  it('an https URL is fetched over TLS (a plain http server cannot answer it)', async () => {
    handler = (_req, res) => res.writeHead(206).end('plain');
    await ready;
    const tls = new URL(base.replace('http:', 'https:') + '/f');
    expect(await downloadError(rangeGet(tls, {}, 5000, 100))).toBe('ERR_PG_FEED_DOWNLOAD');
  });

  it('gives up on a server that does not answer within the timeout, and on a refused connection', async () => {
    handler = () => {};
    const started = Date.now();
    const error = await rejected(FeedError, get('/hang', 100, 300));
    expect(error.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await downloadError(rangeGet(new URL('http://127.0.0.1:1/f'), {}, 2000, 100))).toBe('ERR_PG_FEED_DOWNLOAD');
  });
});

describe('feed keys (keys.ts)', () => {
  it('refuses to write over an existing feed.pub too, and writes nothing then', () => {
    const dir = temp();
    writeFileSync(join(dir, 'feed.pub'), 'mine\n');
    expect(thrown(FeedError, () => generateKeyPair(dir)).code).toBe('ERR_PG_FEED_KEY_EXISTS');
    expect(existsSync(join(dir, 'feed.key'))).toBe(false);
    expect(readFileSync(join(dir, 'feed.pub'), 'utf8')).toBe('mine\n');
  });

  it('creates the key folder, writes feed.pub as the printed key and a newline; one key, three spellings', () => {
    const dir = join(temp(), 'a/b');
    const keys = generateKeyPair(dir);
    expect(readFileSync(keys.publicKeyPath, 'utf8')).toBe(`${keys.publicKey}\n`);
    const privateKey = readPrivateKey(keys.privateKeyPath);
    expect(publicKeyOf(privateKey)).toBe(keys.publicKey);
    expect(rawPublicKey(privateKey)).toEqual(Buffer.from(keys.publicKey, 'base64'));
    expect(keyId(privateKey)).toBe(keyId(parsePublicKey(keys.publicKey)));
    expect(keyId(parsePublicKey(`  ${keys.publicKey}\n`))).toBe(keyId(privateKey));
  });

  it('takes only base64 of exactly 32 bytes, or an Ed25519 PEM (ERR_PG_FEED_KEY_INVALID)', () => {
    const { publicKey } = makeKeys(temp());
    for (const bad of [`x${publicKey}`, `${publicKey}x`, publicKey.slice(1), `${publicKey.slice(0, -1)}A`, `${publicKey} ${publicKey}`]) {
      expect(thrown(FeedError, () => parsePublicKey(bad)).code, bad).toBe('ERR_PG_FEED_KEY_INVALID');
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(thrown(FeedError, () => parsePublicKey(rsa)).code).toBe('ERR_PG_FEED_KEY_INVALID');
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(thrown(FeedError, () => parsePublicKey(`\n${x25519}`)).code).toBe('ERR_PG_FEED_KEY_INVALID');
  });

  it('reads an Ed25519 PEM private key from a file or an environment variable, and nothing else (ERR_PG_FEED_KEY)', () => {
    const keys = makeKeys(temp());
    const pem = readFileSync(keys.privateKeyPath, 'utf8');
    expect(publicKeyOf(privateKeyFromEnv('PG_KEY', { PG_KEY: pem }))).toBe(keys.publicKey);
    // A CI secret pasted with literal \n escapes.
    expect(publicKeyOf(privateKeyFromEnv('PG_KEY', { PG_KEY: pem.replace(/\n/g, '\\n') }))).toBe(keys.publicKey);
    for (const env of [{}, { PG_KEY: '' }, { PG_KEY: ' \n ' }, { PG_KEY: 'not a key' }]) {
      expect(thrown(FeedError, () => privateKeyFromEnv('PG_KEY', env)).code, JSON.stringify(env)).toBe('ERR_PG_FEED_KEY');
    }
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(thrown(FeedError, () => parsePrivateKey(ec, 'ec.key')).code).toBe('ERR_PG_FEED_KEY');
    expect(thrown(FeedError, () => readPrivateKey(join(keys.dir, 'missing.key'))).code).toBe('ERR_PG_FEED_KEY');
  });
});

describe('feed build past 16 MB of records (partitions spilled to disk)', () => {
  // Unknown fields are allowed: 1 MB of padding per record spills at the 16th record; the last
  // two stay in memory.
  // Three records in each of six partitions (the top 8 bits of the key hash), so a spilled
  // partition file holds several rows.
  const byPartition = new Map<number, FeedRecord[]>();
  for (const r of sampleRecords(3000, 'sp')) {
    const p = keyHash(recordKey(r.name, r.version)) >>> 24;
    byPartition.set(p, [...(byPartition.get(p) ?? []), r]);
  }
  const big = [...byPartition.values()].filter((rs) => rs.length >= 3).slice(0, 6).flatMap((rs) => rs.slice(0, 3))
    .map((r, i) => ({ ...r, note: `${i}:${'x'.repeat(1024 * 1024)}` }));

  it('reads the spilled records back whole, each exactly once', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const dir = temp();
    const { path, header } = await buildFeed({ records: big, privateKeyPath: keys.privateKeyPath, out: join(dir, 'big.feed'), now: new Date('2026-11-01T00:00:00Z') });
    expect(header.records).toBe(big.length);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: join(dir, 'cache'), now: new Date('2026-11-02T00:00:00Z') });
    try {
      for (const r of big) expect(feed.lookup(r.name, r.version)).toEqual(r);
    } finally {
      feed.close();
    }
  });

  it('finds a duplicate among spilled records and names both places', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const dir = temp();
    const records = [...big, { ...big[3]!, note: 'again' }];
    const error = await rejected(RecordsError, buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: join(dir, 'dup.feed') }));
    expect(error.code).toBe('ERR_PG_RECORDS_DUPLICATE');
    expect(error.message).toContain('record #19');
    expect(error.message).toContain('first at record #4');
    expect(existsSync(join(dir, 'dup.feed'))).toBe(false);
  });
});

describe('#range feed sources (remote.ts)', () => {
  const servers: RangeServer[] = [];
  afterAll(async () => {
    for (const server of servers) await server.close();
  });
  const records = sampleRecords(300);
  const packages = records.filter((_, i) => i % 30 === 0).map((r) => ({ name: r.name, version: r.version }));

  async function feedServer(schema: number, serial = 5): Promise<{ server: RangeServer; source: string; publicKey: string; keys: ReturnType<typeof makeKeys> }> {
    const keys = makeKeys(temp('pg-keys-'));
    const path = await buildTestFeed(keys, records, join(temp(), 'provenance.feed'), { schema, serial });
    const server = await startRangeServer(readFileSync(path), '"v1"');
    servers.push(server);
    return { server, source: `${server.url}/provenance.feed#range`, publicKey: keys.publicKey, keys };
  }
  const slotOf = (cacheDir: string, source: string) =>
    join(cacheDir, 'feeds', `range-${createHash('sha256').update(source.slice(0, -'#range'.length)).digest('hex').slice(0, 24)}`);

  it('is an http(s) URL ending in #range, whatever the case and surrounding blanks', () => {
    for (const yes of ['https://h/f#range', '  HTTP://h/f#range \n', 'http://127.0.0.1:8/x.feed#range']) expect(isRangeSource(yes), yes).toBe(true);
    for (const no of ['https://h/f', 'https://h/f#range/x', 'ftp://h/f#range', 'xhttps://h/f#range', 'https:/h/f#range', './f#range']) expect(isRangeSource(no), no).toBe(false);
  });

  it('refuses plain http off the loopback before any request; loopback names are allowed', async () => {
    const cacheDir = temp();
    for (const url of ['http://192.0.2.1/f#range', 'http://127.0.0.1.example/f#range', 'http://localhostx:1/f#range', 'http://example.com/127.0.0.1/f#range', 'http://evil.example/?http://127.0.0.1:1/f#range']) {
      const error = await rejected(FeedError, openRemoteFeedFile(url, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [] }));
      expect(error.code, url).toBe('ERR_PG_FEED');
    }
    // Allowed through, then nothing listens on port 1: a download error.
    for (const url of ['http://127.0.0.1:1/f#range', 'http://localhost:1/f#range', 'HTTP://[::1]:1/f#range', ' http://127.0.0.1:1/f#range ']) {
      expect((await rejected(FeedError, openRemoteFeedFile(url, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [] }))).code, url).toBe('ERR_PG_FEED_DOWNLOAD');
    }
  });

  it('offline: refused without a cached copy, answered from one after a first run online', async () => {
    const { server, source, publicKey } = await feedServer(3);
    const cacheDir = temp();
    expect((await rejected(FeedError, openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: true, publicKeys: [publicKey] }))).code).toBe('ERR_PG_FEED');
    expect(server.requests).toBe(0);
    const online = await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [publicKey] });
    await online.prefetch(packages);
    const requests = server.requests;
    const offline = await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: true, publicKeys: [publicKey] });
    expect(offline.path).toBe(online.path);
    await offline.prefetch(packages);
    expect(server.requests).toBe(requests);
    // A cached copy of another URL is not this one's.
    writeFileSync(join(slotOf(cacheDir, source), 'meta.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(slotOf(cacheDir, source), 'meta.json'), 'utf8')), url: 'http://127.0.0.1:1/other' }));
    expect((await rejected(FeedError, openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: true, publicKeys: [publicKey] }))).code).toBe('ERR_PG_FEED');
  });

  it.each([3, 2])('counts the requests and body bytes it makes; a repeat online is one 304 (schema %i)', async (schema) => {
    const { server, source, publicKey } = await feedServer(schema);
    const cacheDir = temp();
    const first = await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [publicKey] });
    expect(first.requests).toBeGreaterThanOrEqual(1);
    expect(first.bytesFetched).toBeGreaterThan(100);
    const before = { requests: first.requests, bytes: first.bytesFetched };
    await first.prefetch(packages);
    expect(first.requests).toBeGreaterThan(before.requests);
    expect(first.bytesFetched).toBeGreaterThan(before.bytes);
    expect(first.bytesFetched).toBe(server.bytesSent);
    expect(first.requests).toBe(server.requests);
    // Near buckets share a request: fewer requests than packages.
    expect(first.requests - before.requests).toBeLessThan(packages.length);
    const again = await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [publicKey] });
    expect(again.path).toBe(first.path);
    expect(again.requests).toBe(1);
    expect(again.bytesFetched).toBe(0);
    await again.prefetch(packages);
    expect(again.requests).toBe(1);
  });

  it('schema 2: a bucket not cached is refused offline, and fetched online with exactly the bytes asked', async () => {
    const { server, source, publicKey } = await feedServer(2);
    const cacheDir = temp();
    await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [publicKey] });
    const offline = await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: true, publicKeys: [publicKey] });
    const error = await rejected(FeedError, offline.prefetch(packages));
    expect(error.code).toBe('ERR_PG_FEED');
    server.rewrite = (_start, data) => data.subarray(1);
    const short = await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [publicKey] });
    expect((await rejected(FeedError, short.prefetch(packages))).code).toBe('ERR_PG_FEED');
    server.rewrite = undefined;
    const online = await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [publicKey] });
    await online.prefetch(packages);
    await offline.prefetch(packages);
  });

  it.each([3, 2])('removes copies of older feeds after 10 minutes, and nothing else (schema %i)', async (schema) => {
    const { server, source, keys, publicKey } = await feedServer(schema);
    const cacheDir = temp();
    await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [publicKey] });
    const dir = slotOf(cacheDir, source);
    const old = Date.now() / 1000 - 11 * 60;
    for (const name of ['feed-' + 'a'.repeat(32), 'head-' + 'b'.repeat(32), 'feed-recent', 'keep-me']) writeFileSync(join(dir, name), '');
    for (const name of ['feed-' + 'a'.repeat(32), 'head-' + 'b'.repeat(32), 'keep-me']) utimesSync(join(dir, name), old, old);
    const next = await buildTestFeed(keys, records.slice(1), join(temp(), 'provenance.feed'), { schema, serial: 6 });
    server.body = readFileSync(next);
    server.etag = '"v2"';
    const fresh = await openRemoteFeedFile(source, { cacheDir, stateDir: cacheDir, offline: false, publicKeys: [publicKey] });
    const left = readdirSync(dir);
    expect(left).toContain('feed-recent');
    expect(left).toContain('keep-me');
    expect(left).not.toContain('feed-' + 'a'.repeat(32));
    expect(left).not.toContain('head-' + 'b'.repeat(32));
    expect(left).toContain(fresh.path.slice(dir.length + 1));
    expect(JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'))).toEqual({ url: source.slice(0, -'#range'.length), etag: '"v2"', file: fresh.path.slice(dir.length + 1), mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});

describe('feed state (state.ts)', () => {
  const H = (c: string) => c.repeat(64);
  const now = new Date('2026-11-01T00:00:00Z');
  const write = (dir: string, state: unknown) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(statePath(dir), typeof state === 'string' ? state : JSON.stringify(state));
  };
  const stateCode = (fn: () => unknown) => thrown(FeedError, fn).code;

  it('reads an absent file as empty, and refuses any entry that is not a whole serial, a date and an optional lowercase sha256', () => {
    const dir = temp();
    expect(readFeedState(dir)).toEqual({ version: 1, serials: {} });
    const good = { serial: 3, acceptedAt: now.toISOString() };
    for (const entry of [good, { ...good, serial: 0 }, { ...good, sha256: H('a') }]) {
      write(dir, { version: 1, serials: { k: entry } });
      expect(readFeedState(dir).serials.k, JSON.stringify(entry)).toEqual(entry);
    }
    const bad = [
      null, [], 'x', { ...good, serial: -1 }, { ...good, serial: 1.5 }, { ...good, serial: '3' }, { ...good, serial: 2 ** 53 },
      { ...good, acceptedAt: 'never' }, { ...good, acceptedAt: 5 }, { acceptedAt: good.acceptedAt },
      { ...good, sha256: H('A') }, { ...good, sha256: 'a'.repeat(63) }, { ...good, sha256: ` ${'a'.repeat(64)}` }, { ...good, sha256: `${'a'.repeat(64)}0` }, { ...good, sha256: 7 },
    ];
    for (const entry of bad) {
      write(dir, { version: 1, serials: { k: entry } });
      expect(stateCode(() => readFeedState(dir)), JSON.stringify(entry)).toBe('ERR_PG_FEED_STATE');
    }
    for (const state of [{ version: 2, serials: {} }, { version: 1, serials: [] }, { version: 1 }, [], 'null', '{"version":1,"serials":null}']) {
      write(dir, state);
      expect(stateCode(() => readFeedState(dir)), JSON.stringify(state)).toBe('ERR_PG_FEED_STATE');
    }
  });

  it('names the reset command for the key when the key id is a plain word, --all otherwise', () => {
    const dir = temp();
    write(dir, { version: 1, serials: { 'abc.1-2_x': { serial: -1, acceptedAt: now.toISOString() } } });
    expect(thrown(FeedError, () => readFeedState(dir)).message).toContain('--reset --key abc.1-2_x');
    write(dir, { version: 1, serials: { 'a b': { serial: -1, acceptedAt: now.toISOString() } } });
    const error = thrown(FeedError, () => readFeedState(dir));
    expect(error.message).toContain('--reset --all');
    expect(error.message).not.toContain('--reset --key');
  });

  it('a state path it cannot read or write fails closed (ERR_PG_FEED_STATE)', () => {
    const dir = temp();
    mkdirSync(statePath(dir));
    expect(stateCode(() => readFeedState(dir))).toBe('ERR_PG_FEED_STATE');
    const file = join(temp(), 'not-a-dir');
    writeFileSync(file, '');
    expect(stateCode(() => recordSerial(file, 'k', 1, H('a'), now))).toBe('ERR_PG_FEED_STATE');
  });

  it('knows only its own keys, not Object.prototype\'s', () => {
    const dir = temp();
    write(dir, { version: 1, serials: {} });
    expect(acceptedFeed(dir, 'toString')).toBeUndefined();
    expect(acceptedFeed(dir, '__proto__')).toBeUndefined();
  });

  it('records a higher serial, keeps a higher one, adds a missing hash, and refuses other content for the same serial', () => {
    const dir = temp();
    recordSerial(dir, 'k', 5, H('a'), now);
    expect(acceptedFeed(dir, 'k')).toEqual({ serial: 5, acceptedAt: now.toISOString(), sha256: H('a') });
    const later = new Date('2026-11-02T00:00:00Z');
    recordSerial(dir, 'k', 4, H('b'), later);
    recordSerial(dir, 'k', 5, H('a'), later);
    expect(acceptedFeed(dir, 'k')).toEqual({ serial: 5, acceptedAt: now.toISOString(), sha256: H('a') });
    expect(thrown(FeedError, () => recordSerial(dir, 'k', 5, H('b'), later)).code).toBe('ERR_PG_FEED_SERIAL_REUSED');
    recordSerial(dir, 'k', 6, H('c'), later);
    expect(acceptedFeed(dir, 'k')).toEqual({ serial: 6, acceptedAt: later.toISOString(), sha256: H('c') });
    write(dir, { version: 1, serials: { k: { serial: 6, acceptedAt: now.toISOString() }, other: { serial: 1, acceptedAt: now.toISOString() } } });
    recordSerial(dir, 'k', 6, H('d'), later);
    expect(readFeedState(dir).serials).toEqual({ k: { serial: 6, acceptedAt: later.toISOString(), sha256: H('d') }, other: { serial: 1, acceptedAt: now.toISOString() } });
    expect(existsSync(statePath(dir) + '.lock')).toBe(false);
  });

  it('takes over a lock left by a crashed process (older than 10 s), and removes it after', () => {
    const dir = temp();
    const lock = statePath(dir) + '.lock';
    writeFileSync(lock, '');
    const old = Date.now() / 1000 - 60;
    utimesSync(lock, old, old);
    const started = Date.now();
    recordSerial(dir, 'k', 1, H('a'), now);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(acceptedFeed(dir, 'k')?.serial).toBe(1);
    expect(existsSync(lock)).toBe(false);
  });

  it('resets all keys (even an unreadable file) or one key, returning what it forgot', () => {
    const dir = temp();
    expect(resetTrust(dir, { all: true })).toEqual({});
    expect(resetTrust(dir, { keyId: 'k' })).toEqual({});
    const a = { serial: 1, acceptedAt: now.toISOString() };
    const b = { serial: 2, acceptedAt: now.toISOString() };
    write(dir, { version: 1, serials: { a, b } });
    expect(resetTrust(dir, { keyId: 'c' })).toEqual({});
    expect(resetTrust(dir, { keyId: 'toString' })).toEqual({});
    expect(readFeedState(dir).serials).toEqual({ a, b });
    expect(resetTrust(dir, { keyId: 'a' })).toEqual({ a });
    expect(readFeedState(dir)).toEqual({ version: 1, serials: { b } });
    expect(resetTrust(dir, { all: true })).toEqual({ b });
    expect(existsSync(statePath(dir))).toBe(false);
    write(dir, 'not json');
    expect(stateCode(() => resetTrust(dir, { keyId: 'a' }))).toBe('ERR_PG_FEED_STATE');
    for (const text of ['[]', '{"serials":[]}', 'null']) {
      write(dir, text);
      expect(stateCode(() => resetTrust(dir, { keyId: 'a' })), text).toBe('ERR_PG_FEED_STATE');
      expect(resetTrust(dir, { all: true }), text).toEqual({});
    }
    write(dir, 'not json');
    expect(resetTrust(dir, { all: true })).toEqual({});
    expect(existsSync(statePath(dir))).toBe(false);
    // A wrong-typed entry of the key is forgotten (the repair), the others kept.
    write(dir, { version: 1, serials: { a: 'broken', b } });
    expect(resetTrust(dir, { keyId: 'a' })).toEqual({ a: 'broken' });
    expect(readFeedState(dir)).toEqual({ version: 1, serials: { b } });
  });
});

describe('feed update (update.ts)', () => {
  const records = sampleRecords(60);
  const collect = async (path: string) => {
    const out = [];
    for await (const r of feedRecords(path)) out.push(r);
    return out;
  };
  const byKey = (a: { name: string; version: string }, b: { name: string; version: string }) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`);

  it.each([1, 2, 3])('reads every record of a feed, once (schema %i)', async (schema) => {
    const keys = makeKeys(temp('pg-keys-'));
    const path = await buildTestFeed(keys, records, join(temp(), 'f.feed'), { schema });
    expect((await collect(path)).sort(byKey)).toEqual([...records].sort(byKey));
  });

  it('refuses a malformed index entry while reading a flat index (ERR_PG_FEED_CORRUPT)', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const path = await buildTestFeed(keys, records, join(temp(), 'f.feed'), { schema: 2 });
    const { bodyStart } = readPreamble(path);
    const data = readFileSync(path);
    data.fill(0x7a, bodyStart, bodyStart + 8);
    writeFileSync(path, data);
    expect((await rejected(FeedError, collect(path))).code).toBe('ERR_PG_FEED_CORRUPT');
  });

  it('opens a verified private copy of the base, and leaves nothing behind when the base does not verify', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const other = makeKeys(temp('pg-keys-'));
    const basePath = await buildTestFeed(keys, records, join(temp(), 'base.feed'), { serial: 9 });
    const cacheDir = temp();
    const bases = () => readdirSync(tmpdir()).filter((n) => n.startsWith('pg-feed-base-')).length;
    const before = bases();
    const base = openBase(basePath, [keys.publicKey], cacheDir);
    expect(base.path).not.toBe(basePath);
    expect(base.header.serial).toBe(9);
    expect(base.has(records[0]!.name, records[0]!.version)).toBe(true);
    expect(base.has('absent', '1.0.0')).toBe(false);
    expect(bases()).toBe(before + 1);
    base.dispose();
    expect(existsSync(base.path)).toBe(false);
    expect(bases()).toBe(before);
    // Opening the base records no accepted serial.
    expect(existsSync(statePath(cacheDir))).toBe(false);
    expect(thrown(FeedError, () => openBase(basePath, [other.publicKey], cacheDir)).code).toBe('ERR_PG_FEED_KEY');
    expect(bases()).toBe(before);
  });

  it('new packages: registry ones the base lacks, each once', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const base = openBase(await buildTestFeed(keys, records, join(temp(), 'base.feed')), [keys.publicKey], temp());
    try {
      const pkg = (name: string, version: string, source = 'registry') => ({ name, version, source, integrity: 'sha512-x' }) as never;
      const known = pkg(records[1]!.name, records[1]!.version);
      const fresh = pkg('fresh', '1.0.0');
      expect(newPackages(base, [known, fresh, pkg('fresh', '1.0.0'), pkg('git-dep', '1.0.0', 'git'), pkg('fresh', '1.0.1')])).toEqual([fresh, pkg('fresh', '1.0.1')]);
    } finally {
      base.dispose();
    }
  });

  it('signs base + added (added replacing the base\'s) with a serial above the base\'s, the feed at --out, and now', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const dir = temp();
    const future = Math.floor(Date.now() / 1000) + 10_000;
    const base = openBase(await buildTestFeed(keys, records, join(dir, 'base.feed'), { serial: future }), [keys.publicKey], temp());
    const privateKey = readPrivateKey(keys.privateKeyPath);
    try {
      const replaced = { ...records[2]!, scorecard: { score: 1 } };
      const added = [replaced, { name: 'fresh', version: '1.0.0' }];
      const now = new Date('2026-11-01T00:00:00Z');
      const first = await updateFeed({ base, added, privateKey, out: join(dir, 'out.feed'), now, expiresIn: 60_000 });
      expect(first.header.serial).toBe(future + 1);
      expect(first.header.expiresAt).toBe('2026-11-01T00:01:00.000Z');
      const got = await collect(first.path);
      expect(got).toHaveLength(records.length + 1);
      expect(got.find((r) => r.name === replaced.name && r.version === replaced.version)).toEqual(replaced);
      // A feed already at --out with a higher serial: above it.
      await buildTestFeed(keys, records, join(dir, 'out.feed'), { serial: future + 50 });
      expect((await updateFeed({ base, added, privateKey, out: join(dir, 'out.feed'), now })).header.serial).toBe(future + 51);
      // A later clock wins over both.
      const later = new Date((future + 1000) * 1000);
      const third = await updateFeed({ base, added, privateKey, out: join(dir, 'out.feed'), now: later });
      expect(third.header.serial).toBe(future + 1000);
      expect(third.header.expiresAt).toBe(new Date(later.getTime() + 30 * 24 * 3600_000).toISOString());
      // Something unreadable at --out does not count.
      writeFileSync(join(dir, 'junk.feed'), 'junk');
      expect((await updateFeed({ base, added, privateKey, out: join(dir, 'junk.feed'), now })).header.serial).toBe(future + 1);
    } finally {
      base.dispose();
    }
  });

  it('refuses to raise a serial past the largest safe integer', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const dir = temp();
    const base = openBase(await buildTestFeed(keys, records.slice(0, 3), join(dir, 'base.feed'), { serial: Number.MAX_SAFE_INTEGER }), [keys.publicKey], temp());
    try {
      const error = await rejected(FeedError, updateFeed({ base, added: [], privateKey: readPrivateKey(keys.privateKeyPath), out: join(dir, 'out.feed') }));
      expect(error.code).toBe('ERR_PG_FEED');
      expect(existsSync(join(dir, 'out.feed'))).toBe(false);
    } finally {
      base.dispose();
    }
  });
});

describe('the page cache of a schema 3 #range feed (remote-tree.ts)', () => {
  const ref = (offset: number, length: number, bytes = Buffer.alloc(length, offset % 251)): PageRef => ({ level: 0, position: offset, offset, length, sha256: sha256Of(bytes) });

  it('merges ranges at most `gap` bytes apart, in offset order, whatever the order given', () => {
    const a = ref(0, 100);
    const b = ref(150, 10);
    const c = ref(1000, 50);
    const d = ref(1051, 5);
    expect(coalesce([d, c, b, a], 50).map((r) => [r.start, r.end, r.refs.length])).toEqual([[0, 160, 2], [1000, 1056, 2]]);
    expect(coalesce([a, b], 49).map((r) => [r.start, r.end])).toEqual([[0, 100], [150, 160]]);
    // A page inside the previous range does not shrink it.
    expect(coalesce([ref(0, 100), ref(10, 5)], 0).map((r) => [r.start, r.end])).toEqual([[0, 100]]);
    // The default gap is 1024 bytes.
    expect(coalesce([ref(0, 10), ref(1034, 10), ref(2069, 1)])).toHaveLength(2);
    expect(coalesce([])).toEqual([]);
  });

  it('keeps verified pages on disk under their hash; drops a file that no longer matches; an empty page needs no file', () => {
    const dir = temp();
    const bytes = Buffer.from('a page');
    const page = ref(0, bytes.length, bytes);
    const store = new PageStore(dir, 'the feed');
    expect(store.load(page)).toBeUndefined();
    expect(thrown(FeedError, () => store.read(page)).code).toBe('ERR_PG_FEED_OFFLINE');
    store.put(page, bytes);
    const file = join(dir, page.sha256.toString('hex').slice(0, 2), page.sha256.toString('hex'));
    expect(readFileSync(file)).toEqual(bytes);
    expect(store.read(page)).toEqual(bytes);
    // Another process's store reads the file; a tampered one is removed.
    expect(new PageStore(dir, 'the feed').load(page)).toEqual(bytes);
    writeFileSync(file, 'a pagf');
    expect(new PageStore(dir, 'the feed').load(page)).toBeUndefined();
    expect(existsSync(file)).toBe(false);
    writeFileSync(file, 'a page plus');
    expect(new PageStore(dir, 'the feed').load(page)).toBeUndefined();
    expect(existsSync(file)).toBe(false);
    expect(new PageStore(join(dir, 'none'), 'x').load({ ...ref(0, 0), length: 0 })).toEqual(Buffer.alloc(0));
    // A cache it cannot write to is an error, not a silent miss.
    const blocked = join(temp(), 'file');
    writeFileSync(blocked, '');
    expect(thrown(FeedError, () => new PageStore(blocked, "x").put(page, bytes)).code).toBe("ERR_PG_FEED");
  });

  it('fetches nothing for no packages, refuses offline, and refuses a short or wrong range', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const path = await buildTestFeed(keys, sampleRecords(400), join(temp(), 'provenance.feed'));
    const data = readFileSync(path);
    const preamble = readPreamble(path);
    let requests = 0;
    let lie: ((body: Buffer) => Buffer) | undefined;
    const client = { get: async (start: number, end: number) => {
      requests++;
      const body = data.subarray(start, end);
      return { body: lie ? lie(body) : body };
    } };
    const fetchWith = (dir: string, offline = false) => ({ store: new PageStore(dir, 'f'), client, preamble, offline, url: 'https://h/f' });
    const wanted = sampleRecords(400).filter((_, i) => i % 40 === 0);
    await prefetchTree(fetchWith(temp()), []);
    expect(requests).toBe(0);
    expect((await rejected(FeedError, prefetchTree(fetchWith(temp(), true), wanted))).code).toBe('ERR_PG_FEED_OFFLINE');
    expect(requests).toBe(0);
    lie = (body) => body.subarray(1);
    expect((await rejected(FeedError, prefetchTree(fetchWith(temp()), wanted))).code).toBe('ERR_PG_FEED_DOWNLOAD');
    lie = (body) => Buffer.from(body).fill(0, 0, 1);
    expect((await rejected(FeedError, prefetchTree(fetchWith(temp()), wanted))).code).toBe('ERR_PG_FEED_CORRUPT');
    lie = undefined;
    const dir = temp();
    requests = 0;
    await prefetchTree(fetchWith(dir), wanted);
    const online = requests;
    expect(online).toBeGreaterThan(preamble.header.fanout ? 1 : 0);
    // Everything on those paths is now cached: offline finds every page.
    await prefetchTree(fetchWith(dir, true), wanted);
    expect(requests).toBe(online);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp(), pages: new PageStore(dir, 'f') });
    try {
      for (const r of wanted) expect(feed.lookup(r.name, r.version)).toEqual(r);
    } finally {
      feed.close();
    }
  });
});

describe('feed build: plan, records and layout (build.ts)', () => {
  const keys = makeKeys(temp('pg-keys-'));
  const records = sampleRecords(200);
  const build = (extra: Record<string, unknown>, rs: Iterable<FeedRecord> | AsyncIterable<FeedRecord> = records.slice(0, 5), out = join(temp(), 'f.feed')) =>
    buildFeed({ records: rs, privateKeyPath: keys.privateKeyPath, out, ...extra });

  it('refuses an expiry, serial or schema out of range before reading a record (no file written)', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ expiresIn: 0 }, 'ERR_PG_FEED_EXPIRY_RANGE'], [{ expiresIn: -1 }, 'ERR_PG_FEED_EXPIRY_RANGE'], [{ expiresIn: NaN }, 'ERR_PG_FEED_EXPIRY_RANGE'], [{ expiresIn: 1e300 }, 'ERR_PG_FEED_EXPIRY_RANGE'],
      [{ serial: -1 }, 'ERR_PG_FEED_SERIAL_INVALID'], [{ serial: 1.5 }, 'ERR_PG_FEED_SERIAL_INVALID'], [{ serial: 2 ** 53 }, 'ERR_PG_FEED_SERIAL_INVALID'],
      [{ schema: 4 }, 'ERR_PG_FEED_SCHEMA'], [{ schema: 0 }, 'ERR_PG_FEED_SCHEMA'],
    ];
    for (const [extra, code] of cases) {
      const out = join(temp(), 'f.feed');
      let read = 0;
      const counted = (function* () { for (const r of records.slice(0, 3)) { read++; yield r; } })();
      expect((await rejected(FeedError, build(extra, counted, out))).code, JSON.stringify(extra)).toBe(code);
      expect(read).toBe(0);
      expect(existsSync(out)).toBe(false);
    }
    const now = new Date('2026-11-01T00:00:00Z');
    expect((await build({ serial: 0, expiresIn: 1, now })).header).toMatchObject({ serial: 0, expiresAt: '2026-11-01T00:00:00.001Z' });
  });

  it('refuses an invalid, a too deeply nested and a duplicate record by position (ERR_PG_RECORDS_*)', async () => {
    const bad = [records[0]!, { ...records[1]!, version: 'v1' }];
    expect((await rejected(RecordsError, build({}, bad))).code).toBe('ERR_PG_RECORDS_INVALID');
    let deep: Record<string, unknown> = {};
    const nested = { ...records[1]!, extra: deep } as FeedRecord;
    for (let i = 0; i < 200; i++) deep = (deep.x = {}) as Record<string, unknown>;
    expect((await rejected(RecordsError, build({}, [records[0]!, nested]))).code).toBe('ERR_PG_RECORDS_INVALID');
    const dup = await rejected(RecordsError, build({}, [records[0]!, records[1]!, { ...records[0]!, note: 'again' }]));
    expect(dup.code).toBe('ERR_PG_RECORDS_DUPLICATE');
    expect(dup.message).toContain('record #3');
    expect(dup.message).toContain('first at record #1');
  });

  it.each([1, 2, 3])('writes each bucket\'s records sorted by name@version, whatever the input order (schema %i)', async (schema) => {
    const { path, header } = await build({ schema }, [...records].reverse());
    const order: string[] = [];
    for await (const r of feedRecords(path)) order.push(recordKey(r.name, r.version));
    const expected = records.map((r) => recordKey(r.name, r.version))
      .sort((a, b) => bucketOfHash(keyHash(a), (header.buckets as number)) - bucketOfHash(keyHash(b), (header.buckets as number)) || (a < b ? -1 : a > b ? 1 : 0));
    expect(order).toEqual(expected);
  });

  it.each([1, 2, 3])('writes the empty buckets before the first and after the last non-empty one (schema %i)', async (schema) => {
    const n = 100;
    const buckets = bucketCount(n, schema);
    expect(buckets).toBeGreaterThan(2);
    const pool = sampleRecords(2000, 'e');
    for (const target of [0, buckets - 1]) {
      const chosen = pool.filter((r) => bucketOfHash(keyHash(recordKey(r.name, r.version)), buckets) === target).slice(0, n);
      expect(chosen).toHaveLength(n);
      const { path, header } = await build({ schema }, chosen);
      expect(header.buckets).toBe(buckets);
      verifyFeed(path, [keys.publicKey], { stateDir: temp() });
      const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp() });
      try {
        for (const r of chosen) expect(feed.lookup(r.name, r.version)).toEqual(r);
        expect(feed.lookup('absent', '1.0.0')).toBeUndefined();
      } finally {
        feed.close();
      }
    }
  });

  it('spills to a temp folder while reading past 16 MB, and removes it', async () => {
    const spills = () => readdirSync(tmpdir()).filter((n) => n.startsWith('pg-feed-build-'));
    const before = spills().length;
    const seen: number[] = [];
    async function* big() {
      for (const [i, r] of sampleRecords(18, 's').entries()) {
        seen.push(spills().length);
        yield { ...r, note: `${i}:${'y'.repeat(1024 * 1024)}` };
      }
    }
    await build({}, big());
    expect(seen[0]).toBe(before);
    expect(seen.at(-1)).toBe(before + 1);
    expect(spills()).toHaveLength(before);
  });

  it('removes its temp files when the feed cannot be put in place', async () => {
    const dir = temp();
    mkdirSync(join(dir, 'provenance.feed', 'in-the-way'), { recursive: true });
    await expect(build({}, records.slice(0, 3), dir)).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['provenance.feed']);
  });
});

describe('feed open and verify: flat index checks (reader.ts)', () => {
  const keys = makeKeys(temp('pg-keys-'));
  const privateKey = readPrivateKey(keys.privateKeyPath);
  const now = new Date('2026-11-02T00:00:00Z');
  const line = (r: FeedRecord) => Buffer.from(JSON.stringify(r) + '\n');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest();
  interface Bucket { bytes: Buffer; offset?: number; entry?: string }
  /** A schema 1 feed signed over exactly these buckets and index entries. */
  function flatFeed(buckets: Bucket[], options: { extra?: Buffer; header?: Record<string, unknown> } = {}): string {
    const index = Buffer.alloc(buckets.length * INDEX_ENTRY_BYTES);
    let offset = 0;
    buckets.forEach((b, i) => {
      if (b.entry !== undefined) index.write(b.entry, i * INDEX_ENTRY_BYTES, 'latin1');
      else encodeIndexEntry(index, i * INDEX_ENTRY_BYTES, b.offset ?? offset, b.bytes.length, sha(b.bytes));
      offset += b.bytes.length;
    });
    const body = Buffer.concat([index, ...buckets.map((b) => b.bytes), options.extra ?? Buffer.alloc(0)]);
    const header = {
      schema: 1, serial: 1, generatedAt: '2026-11-01T00:00:00.000Z', expiresAt: '2026-12-01T00:00:00.000Z', records: 2, keyId: keyId(privateKey),
      buckets: buckets.length, indexSha256: sha(index).toString('hex'), bodyBytes: body.length, ...options.header,
    };
    const signed = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
    const path = join(temp(), 'provenance.feed');
    writeFileSync(path, Buffer.concat([signed, Buffer.from(`${SIG_PREFIX}${sign(null, signed, privateKey).toString('base64')}\n`), body]));
    return path;
  }
  const bucketOf = (r: FeedRecord) => bucketOfHash(keyHash(recordKey(r.name, r.version)), 2);
  // A record for each of the two buckets, in the bucket its hash names, so lookups find them.
  const pool = sampleRecords(20, 'flat');
  const placed = [pool.find((r) => bucketOf(r) === 0)!, pool.find((r) => bucketOf(r) === 1)!];
  const verify = (path: string, label?: string) => verifyFeed(path, [keys.publicKey], { stateDir: temp(), now, ...(label ? { label } : {}) });
  const corrupt = (path: string, label?: string) => thrown(FeedError, () => verify(path, label));

  it('verifies a well-formed flat feed, and every built schema 1 and 2 feed', async () => {
    const good = flatFeed([{ bytes: line(placed[0]!) }, { bytes: line(placed[1]!) }]);
    expect(verify(good)).toMatchObject({ schema: 1, buckets: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    for (const schema of [1, 2]) {
      const path = await buildTestFeed(keys, sampleRecords(300), join(temp(), 'f.feed'), { schema, now: new Date('2026-11-01T00:00:00Z') });
      expect(verify(path).records).toBe(300);
    }
  });

  it('verifies and reads buckets larger than its 8 MB read window and 64 KB lookup buffer (schema 1)', async () => {
    const big = sampleRecords(18, 'w').map((r, i) => ({ ...r, note: `${i}:${'z'.repeat(1024 * 1024)}` }));
    const path = await buildTestFeed(keys, big, join(temp(), 'f.feed'), { schema: 1, now: new Date('2026-11-01T00:00:00Z') });
    expect(verify(path).records).toBe(18);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp(), now });
    try {
      for (const r of big) expect(feed.lookup(r.name, r.version)).toEqual(r);
    } finally {
      feed.close();
    }
  });

  it('refuses a bucket not where its entry says, a malformed entry, and bytes after the last bucket (ERR_PG_FEED_CORRUPT, named by path or label)', () => {
    const empty = Buffer.alloc(0);
    const misplaced = flatFeed([{ bytes: line(placed[0]!) }, { bytes: empty, offset: 1 }]);
    expect(corrupt(misplaced).code).toBe('ERR_PG_FEED_CORRUPT');
    const malformed = flatFeed([{ bytes: line(placed[0]!) }, { bytes: line(placed[1]!), entry: 'z'.repeat(84) + '\n' }]);
    expect(corrupt(malformed)).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT', file: malformed });
    expect(corrupt(malformed, 'https://feeds/x')).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT', file: 'https://feeds/x' });
    // The index itself is signed: it opens, and only a lookup in that bucket fails.
    const feed = openFeed(malformed, { publicKeys: [keys.publicKey], stateDir: temp(), now });
    try {
      expect(feed.lookup(placed[0]!.name, placed[0]!.version)).toEqual(placed[0]);
      expect(thrown(FeedError, () => feed.lookup(placed[1]!.name, placed[1]!.version)).code).toBe('ERR_PG_FEED_CORRUPT');
    } finally {
      feed.close();
    }
    const trailing = flatFeed([{ bytes: line(placed[0]!) }, { bytes: line(placed[1]!) }], { extra: Buffer.from('{"name":"evil"}\n') });
    expect(corrupt(trailing).code).toBe('ERR_PG_FEED_CORRUPT');
  });

  it('refuses a signed header with a schema it cannot read (ERR_PG_FEED_SCHEMA)', () => {
    const path = flatFeed([{ bytes: line(placed[0]!) }, { bytes: line(placed[1]!) }], { header: { schema: 4 } });
    expect(corrupt(path).code).toBe('ERR_PG_FEED_SCHEMA');
    expect(thrown(FeedError, () => openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp(), now })).code).toBe('ERR_PG_FEED_SCHEMA');
  });

  it('verify checks the size too; a flat feed has no pages; no key, or a folder, is refused with its code', async () => {
    const path = await buildTestFeed(keys, sampleRecords(30), join(temp(), 'f.feed'), { schema: 2, now: new Date('2026-11-01T00:00:00Z') });
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from('\n')]));
    expect(corrupt(path).code).toBe('ERR_PG_FEED_CORRUPT');
    const clean = await buildTestFeed(keys, sampleRecords(30), join(temp(), 'f.feed'), { schema: 2, now: new Date('2026-11-01T00:00:00Z') });
    expect(thrown(FeedError, () => openFeed(clean, { publicKeys: [keys.publicKey], stateDir: temp(), now, pages: { read: () => Buffer.alloc(0) } })).code).toBe('ERR_PG_FEED_CORRUPT');
    expect(thrown(FeedError, () => openFeed(clean, { publicKeys: [], stateDir: temp(), now })).code).toBe('ERR_PG_FEED_KEY');
    expect(thrown(FeedError, () => verifyFeed(temp(), [keys.publicKey], { stateDir: temp(), now })).code).toBe('ERR_PG_FEED_NOT_FOUND');
  });

  it('expires at expiresAt exactly; allows generatedAt exactly 5 minutes ahead, not a millisecond more', async () => {
    const generatedAt = new Date('2026-11-01T00:00:00Z');
    const path = await buildTestFeed(keys, sampleRecords(5), join(temp(), 'f.feed'), { now: generatedAt, expiresIn: 3600_000 });
    const at = (ms: number) => ({ publicKeys: [keys.publicKey], cacheDir: temp(), now: new Date(ms) });
    expect(thrown(FeedError, () => openFeed(path, at(generatedAt.getTime() + 3600_000))).code).toBe('ERR_PG_FEED_EXPIRED');
    openFeed(path, at(generatedAt.getTime() + 3600_000 - 1)).close();
    openFeed(path, at(generatedAt.getTime() - 5 * 60_000)).close();
    expect(thrown(FeedError, () => openFeed(path, at(generatedAt.getTime() - 5 * 60_000 - 1))).code).toBe('ERR_PG_FEED_FUTURE');
  });

  it.each([2, 3])('close() twice is harmless; a lookup after close throws (schema %i)', async (schema) => {
    const path = await buildTestFeed(keys, sampleRecords(5), join(temp(), 'f.feed'), { schema });
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp() });
    feed.close();
    expect(() => feed.close()).not.toThrow();
    expect(() => feed.lookup('pkg-1', '1.1.1')).toThrow(/closed/);
  });

  it('names a corrupt schema 3 feed by its path, or by the label given', async () => {
    const path = await buildTestFeed(keys, sampleRecords(300), join(temp(), 'f.feed'), { now: new Date('2026-11-01T00:00:00Z') });
    const data = readFileSync(path);
    data[readPreamble(path).bodyStart + 5] ^= 0x01;
    writeFileSync(path, data);
    expect(corrupt(path)).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT', file: path });
    expect(corrupt(path, 'npm:feed')).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT', file: 'npm:feed' });
  });
});
