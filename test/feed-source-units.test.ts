/**
 * src/feed/source.ts, one behaviour each, written against the mutants Stryker left alive
 * (docs/mutation.md): how a feed.source is classified (path, URL, npm spec), resolved, fetched
 * (redirects, validators, deadlines), verified before it replaces the cached copy, and kept as
 * the last good copy. In-process: servers on 127.0.0.1 only (an http feed server, a small npm
 * registry answering pacote), temp dirs, no installs, no CLI.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FeedError } from '../src/errors';
import { keyId, parsePublicKey } from '../src/feed/keys';
import { isLocalFeedSource, resolveFeedSource, type ResolveFeedOptions } from '../src/feed/source';
import { readFeedState } from '../src/feed/state';
import { buildTestFeed, makeKeys, sampleRecords, type TestKeys } from './helpers/feed-fixtures';
import { rejected, thrown } from './helpers/errors';
import { startFeedServer, type FeedServer } from './helpers/feed-server';
import { pack } from './helpers/tarball';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-feed-source-units-');
const DAY = 86_400_000;

let keys: TestKeys;
let id: string;
const feeds: Record<'good' | 'newer' | 'older' | 'unpinned', Buffer> = {} as never;

beforeAll(async () => {
  const work = temp('pg-feed-source-feeds-');
  keys = makeKeys(join(work, 'keys'));
  id = keyId(parsePublicKey(keys.publicKey));
  const other = makeKeys(join(work, 'other'));
  const build = async (name: keyof typeof feeds, k: TestKeys, serial: number) => {
    feeds[name] = readFileSync(await buildTestFeed(k, sampleRecords(8, name), join(work, `${name}.feed`), { serial }));
  };
  await build('good', keys, 10);
  await build('newer', keys, 11);
  await build('older', keys, 9);
  await build('unpinned', other, 50);
});

const failure = (promise: Promise<unknown>) => rejected(FeedError, promise);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** The cache slot source.ts keeps a download in: feeds/<kind>-<24 hex of the identity's SHA-256>. */
const slotDir = (cache: string, kind: 'url' | 'npm', identity: string) => join(cache, 'feeds', `${kind}-${sha(identity).slice(0, 24)}`);

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
}
interface Served {
  url: string;
  seen: Seen[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}
const servers: Served[] = [];
const feedServers: FeedServer[] = [];

/** An http server on 127.0.0.1 that answers with `handler` (switchable) and records every request. */
async function serve(handler: Served['handler']): Promise<Served> {
  const state = { url: '', seen: [] as Seen[], handler } as Served;
  const server: Server = createServer((req, res) => {
    state.seen.push({ url: req.url ?? '', headers: req.headers });
    state.handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  servers.push(state);
  return state;
}
afterEach(async () => {
  await Promise.all([...servers.splice(0), ...feedServers.splice(0)].map((s) => s.close()));
});

function body(data: Buffer, headers: Record<string, string> = {}): Served['handler'] {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': String(data.length), ...headers });
    res.end(data);
  };
}
const status = (code: number, headers: Record<string, string> = {}): Served['handler'] => (_req, res) => void res.writeHead(code, headers).end();

function options(source: string, cacheDir: string, extra: Partial<ResolveFeedOptions> & { warnings?: string[] } = {}): ResolveFeedOptions {
  const { warnings = [], ...rest } = extra;
  return { source, rootDir: cacheDir, offline: false, cacheDir, stateDir: cacheDir, publicKeys: [keys.publicKey], warn: (m) => warnings.push(m), ...rest };
}

describe('feed.source kinds (isLocalFeedSource)', () => {
  it('takes for paths what starts like one (./ ../ / \\ ~ C:\\), ends in .feed, exists under rootDir, or has a slash', () => {
    const root = temp();
    mkdirSync(join(root, 'feeds'));
    const env = { HOME: root };
    // Backslashes are no separators here: these are paths only because of how they start.
    for (const source of ['.\\feed', '..\\feed', '.', '..', '/abs/feed', '\\feed', '~feed', '~/feed', 'C:\\feed', 'c:/feed', 'z:\\', 'x.feed', 'feeds', ' ./padded ', 'dir/sub', 'a:b/c', 'x/github:acme', 'feeds/https://example.com/f']) {
      expect(isLocalFeedSource(source, root, env), source).toBe(true);
    }
    for (const source of ['provenance-feed', '@scope/feed', '@scope/feed@^1', 'npm:./feed', 'npm:x.feed', 'github:acme/feed', 'GitHub:acme/feed', 'git+ssh://git@host/feed', 'a.b:x/y', 'a-b:x/y', 'file:feed/x', 'https://example.com/feed/', 'HTTPS://example.com/x', 'http://127.0.0.1:1/x', 'http://localhost:1/x', 'http://[::1]:1/x', '.feedrc', 'C:feed', 'feed.feed2']) {
      expect(isLocalFeedSource(source, root, env), source).toBe(false);
    }
  });

  it('takes . and .. for paths even from a rootDir that does not exist (yet)', () => {
    const missing = join(temp(), 'not', 'made');
    expect(isLocalFeedSource('.', missing)).toBe(true);
    expect(isLocalFeedSource('..', missing)).toBe(true);
  });

  it('reads the home directory from the environment given, else from process.env', () => {
    const home = temp();
    writeFileSync(join(home, 'here'), 'x');
    // `~/here` exists under HOME: a path whichever rule says so; `~x` under no HOME.
    expect(isLocalFeedSource('~/here', temp(), { HOME: home })).toBe(true);
    expect(isLocalFeedSource('.', temp())).toBe(true);
    expect(isLocalFeedSource('provenance-feed', temp())).toBe(false);
  });

  it('refuses an empty source, a URL that does not parse, and plain http to anything but loopback', () => {
    const root = temp();
    for (const source of ['', '   ']) expect(thrownCode(() => isLocalFeedSource(source, root))).toBe('ERR_PG_FEED_SOURCE_INVALID');
    // The messages name the setting, or the value refused.
    expect(thrown(FeedError, () => isLocalFeedSource(' ', root)).message).toContain('feed.source');
    for (const source of ['https://exa mple.com/feed', 'https://[::1/feed']) {
      expect(thrownCode(() => isLocalFeedSource(source, root)), source).toBe('ERR_PG_FEED_SOURCE_INVALID');
      expect(thrown(FeedError, () => isLocalFeedSource(source, root)).message).toContain(JSON.stringify(source));
    }
    for (const source of ['http://example.com/provenance.feed', 'HTTP://example.com/x', 'http://127.0.0.2/x', 'http://localhost.example.com/x', 'http://[::2]/x']) {
      expect(thrownCode(() => isLocalFeedSource(source, root)), source).toBe('ERR_PG_FEED_INSECURE');
      expect(thrown(FeedError, () => isLocalFeedSource(source, root)).message).toContain(source);
    }
  });
});

function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FeedError);
    return (error as FeedError).code;
  }
  return undefined;
}

describe('feed.source as a path', () => {
  it('resolves a file as is (not read), a directory to its provenance.feed, ~/ from HOME, relative paths from rootDir', async () => {
    const root = temp();
    const home = temp();
    writeFileSync(join(root, 'any.bin'), 'not a feed');
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'dir', 'provenance.feed'), 'x');
    writeFileSync(join(home, 'mine.feed'), 'x');
    const base = { rootDir: root, offline: false, cacheDir: temp(), stateDir: temp(), publicKeys: [], env: { HOME: home } };
    expect(await resolveFeedSource({ ...base, source: 'any.bin' })).toBe(join(root, 'any.bin'));
    expect(await resolveFeedSource({ ...base, source: ' ./dir ' })).toBe(join(root, 'dir', 'provenance.feed'));
    expect(await resolveFeedSource({ ...base, source: join(root, 'dir') })).toBe(join(root, 'dir', 'provenance.feed'));
    expect(await resolveFeedSource({ ...base, source: '~/mine.feed' })).toBe(join(home, 'mine.feed'));
    // An empty HOME falls back to the account's home directory.
    const elsewhere = await failure(resolveFeedSource({ ...base, env: { HOME: '' }, source: '~/no-such-pg-feed.feed' }));
    expect(elsewhere.code).toBe('ERR_PG_FEED_NOT_FOUND');
    expect(elsewhere.file).toBe(join(homedir(), 'no-such-pg-feed.feed'));
  });

  it('names the missing file, or the directory without provenance.feed (ERR_PG_FEED_NOT_FOUND)', async () => {
    const root = temp();
    mkdirSync(join(root, 'empty'));
    const base = { rootDir: root, offline: true, cacheDir: temp(), stateDir: temp(), publicKeys: [] };
    const missing = await failure(resolveFeedSource({ ...base, source: './missing.feed' }));
    expect(missing.code).toBe('ERR_PG_FEED_NOT_FOUND');
    expect(missing.file).toBe(join(root, 'missing.feed'));
    expect(missing.message).toContain(join(root, 'missing.feed'));
    const empty = await failure(resolveFeedSource({ ...base, source: './empty' }));
    expect(empty.code).toBe('ERR_PG_FEED_NOT_FOUND');
    expect(empty.file).toBe(join(root, 'empty'));
    expect(empty.message).toContain(join(root, 'empty'));
    expect(empty.message).toContain('provenance.feed');
  });
});

describe('feed.source as an https (or loopback http) URL', () => {
  it('downloads into its cache slot, writes meta.json, records the serial, and sends no validators the first time', async () => {
    const lastModified = new Date('2026-11-01T00:00:00Z').toUTCString();
    const s = await serve(body(feeds.good, { etag: '"g1"', 'last-modified': lastModified }));
    const cache = join(temp(), 'not', 'yet');
    const now = new Date(Date.now() + 60_000);
    const url = `${s.url}/f/provenance.feed`;
    const path = await resolveFeedSource(options(url, cache, { now }));
    const dir = slotDir(cache, 'url', url);
    expect(path).toBe(join(dir, 'provenance.feed'));
    expect(readFileSync(path).equals(feeds.good)).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'))).toEqual({ source: url, fetchedAt: now.toISOString(), etag: '"g1"', lastModified, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(readdirSync(dir).sort()).toEqual(['meta.json', 'provenance.feed']);
    expect(readFeedState(cache).serials[id]).toMatchObject({ serial: 10, acceptedAt: now.toISOString() });
    expect(s.seen).toHaveLength(1);
    expect(s.seen[0]!.url).toBe('/f/provenance.feed');
    expect(s.seen[0]!.headers.accept).toBe('application/octet-stream, */*');
    expect(s.seen[0]!.headers['if-none-match']).toBeUndefined();
    expect(s.seen[0]!.headers['if-modified-since']).toBeUndefined();

    // The next request revalidates with both; a 200 without validators leaves none in meta.json.
    s.handler = body(feeds.newer);
    expect(readFileSync(await resolveFeedSource(options(url, cache, { now }))).equals(feeds.newer)).toBe(true);
    expect(s.seen[1]!.headers['if-none-match']).toBe('"g1"');
    expect(s.seen[1]!.headers['if-modified-since']).toBe(lastModified);
    expect(JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'))).toEqual({ source: url, fetchedAt: now.toISOString(), mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(readFeedState(cache).serials[id]!.serial).toBe(11);
    await resolveFeedSource(options(url, cache, { now }));
    expect(s.seen[2]!.headers['if-none-match']).toBeUndefined();
    expect(s.seen[2]!.headers['if-modified-since']).toBeUndefined();
  });

  it('asks for provenance.feed under a URL ending in /, and for the URL itself otherwise', async () => {
    const s = await serve(body(feeds.good));
    const cache = temp();
    const dirUrl = await resolveFeedSource(options(`${s.url}/feeds/`, cache));
    expect(s.seen.at(-1)!.url).toBe('/feeds/provenance.feed');
    expect(dirUrl).toBe(join(slotDir(cache, 'url', `${s.url}/feeds/provenance.feed`), 'provenance.feed'));
    await resolveFeedSource(options(`${s.url}/feeds/latest`, temp()));
    expect(s.seen.at(-1)!.url).toBe('/feeds/latest');
  });

  it('uses the cached copy on 304, and sends validators only while that copy exists', async () => {
    // Answers 304 to any validator, whatever it names.
    const s = await serve((req, res) => {
      if (req.headers['if-none-match'] || req.headers['if-modified-since']) return void res.writeHead(304).end();
      body(feeds.good, { etag: '"e"', 'last-modified': new Date(0).toUTCString() })(req, res);
    });
    const cache = temp();
    const url = `${s.url}/provenance.feed`;
    const warnings: string[] = [];
    const path = await resolveFeedSource(options(url, cache, { warnings }));
    const meta = readFileSync(join(slotDir(cache, 'url', url), 'meta.json'), 'utf8');
    expect(await resolveFeedSource(options(url, cache, { warnings, now: new Date(Date.now() + 1000) }))).toBe(path);
    expect(readFileSync(join(slotDir(cache, 'url', url), 'meta.json'), 'utf8')).toBe(meta);
    expect(warnings).toEqual([]);
    // meta.json left, feed gone: a plain request, not a 304 that would have nothing to keep.
    rmSync(path);
    expect(readFileSync(await resolveFeedSource(options(url, cache, { warnings }))).equals(feeds.good)).toBe(true);
    expect(s.seen.at(-1)!.headers['if-none-match']).toBeUndefined();
    expect(s.seen.at(-1)!.headers['if-modified-since']).toBeUndefined();
    // Only the Last-Modified validator in meta.json, feed gone: still no validator sent.
    writeFileSync(join(slotDir(cache, 'url', url), 'meta.json'), JSON.stringify({ source: url, fetchedAt: 'x', lastModified: new Date(0).toUTCString() }));
    rmSync(path);
    expect(readFileSync(await resolveFeedSource(options(url, cache, { warnings }))).equals(feeds.good)).toBe(true);
    expect(s.seen.at(-1)!.headers['if-modified-since']).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('a meta.json this machine did not write is ignored: its validators never make a 304 confirm an older copy', async () => {
    const s = await serve((req, res) => {
      // Answers as a CDN does: 304 when If-None-Match names the current ETag.
      const current = s.current;
      if (req.headers['if-none-match'] === current.etag) return void res.writeHead(304, { etag: current.etag }).end();
      res.writeHead(200, { etag: current.etag, 'content-length': String(current.data.length) });
      res.end(current.data);
    }) as Served & { current: { etag: string; data: Buffer } };
    s.current = { etag: '"old"', data: feeds.good };
    const cache = temp();
    const url = `${s.url}/provenance.feed`;
    const dir = slotDir(cache, 'url', url);
    await resolveFeedSource(options(url, cache));
    // The publisher ships a newer feed; a restored cache pairs its ETag with the older copy.
    s.current = { etag: '"new"', data: feeds.newer };
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, etag: '"new"' }));
    expect(readFileSync(await resolveFeedSource(options(url, cache))).equals(feeds.newer)).toBe(true);
    expect(s.seen.at(-1)!.headers['if-none-match']).toBeUndefined();
    // Its own meta.json, of the copy beside it, still revalidates (one 304, the newer copy kept).
    expect(readFileSync(await resolveFeedSource(options(url, cache))).equals(feeds.newer)).toBe(true);
    expect(s.seen.at(-1)!.headers['if-none-match']).toBe('"new"');
    // The copy swapped for the older one under this machine's own meta.json: the MAC binds the copy, so it is fetched again.
    writeFileSync(join(dir, 'provenance.feed'), feeds.good);
    expect(readFileSync(await resolveFeedSource(options(url, cache))).equals(feeds.newer)).toBe(true);
    expect(s.seen.at(-1)!.headers['if-none-match']).toBeUndefined();
    // Swapped again, and a server answering 304 to anything: a 304 without a validator is refused; the last good copy (the swapped one) is not confirmed current.
    writeFileSync(join(dir, 'provenance.feed'), feeds.good);
    s.handler = status(304);
    const warnings: string[] = [];
    await resolveFeedSource(options(url, cache, { warnings }));
    expect(s.seen.at(-1)!.headers['if-none-match']).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/304/);
  });

  it('refuses a 304 with no cached copy, an error status and a 204 without a body (ERR_PG_FEED_DOWNLOAD), leaving nothing behind', async () => {
    for (const code of [304, 404, 500, 204]) {
      const s = await serve(status(code));
      const cache = temp();
      const url = `${s.url}/provenance.feed`;
      const error = await failure(resolveFeedSource(options(url, cache)));
      expect(error.code, String(code)).toBe('ERR_PG_FEED_DOWNLOAD');
      expect(error.message).toContain(url);
      expect(error.message).toContain(`answered ${code}`);
      expect(readdirSync(slotDir(cache, 'url', url))).toEqual([]);
      expect(existsSync(join(cache, 'feed-state.json'))).toBe(false);
    }
  });

  it('follows up to 5 redirects of every kind (relative Locations too), and no more', async () => {
    const chain = [301, 302, 303, 307, 308];
    const s = await serve((req, res) => {
      const m = /^\/r(\d+)$/.exec(req.url ?? '');
      if (!m) return body(feeds.good)(req, res);
      const n = Number(m[1]);
      const next = n + 1 < chain.length + extra ? `r${n + 1}` : `${s.url}/provenance.feed`;
      res.writeHead(chain[n % chain.length]!, { location: next }).end();
    });
    let extra = 0;
    const five = await resolveFeedSource(options(`${s.url}/r0`, temp()));
    expect(readFileSync(five).equals(feeds.good)).toBe(true);
    expect(s.seen.map((r) => r.url)).toEqual(['/r0', '/r1', '/r2', '/r3', '/r4', '/provenance.feed']);
    extra = 1;
    s.seen.length = 0;
    const cache = temp();
    const six = await failure(resolveFeedSource(options(`${s.url}/r0`, cache)));
    expect(six.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(six.message).toContain(`${s.url}/r0`);
    expect(six.message).toContain('5 redirects');
    expect(s.seen).toHaveLength(6);
  });

  it('refuses a redirect without a Location (ERR_PG_FEED_DOWNLOAD) and one to plain http (ERR_PG_FEED_INSECURE)', async () => {
    const s = await serve(status(302));
    const noLocation = await failure(resolveFeedSource(options(`${s.url}/provenance.feed`, temp())));
    expect(noLocation.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(noLocation.message).toContain(`${s.url}/provenance.feed`);
    expect(s.seen).toHaveLength(1);
    // 127.0.0.2 is no loopback name of the allow-list: plain http to it is refused like any other host.
    s.handler = status(302, { location: 'http://127.0.0.2:9/provenance.feed' });
    const insecure = await failure(resolveFeedSource(options(`${s.url}/provenance.feed`, temp())));
    expect(insecure.code).toBe('ERR_PG_FEED_INSECURE');
    expect(insecure.message).toContain('http://127.0.0.2:9/provenance.feed');
    expect(s.seen).toHaveLength(2);
  });

  it('follows https to https, never https to http, not even to 127.0.0.1', async () => {
    const plain = await serve(body(feeds.good));
    const target = await startFeedServer({ kind: 'serve', body: feeds.good }, { https: true });
    feedServers.push(target);
    const tls = await startFeedServer({ kind: 'redirect', location: target.feedUrl }, { https: true, path: '/r' });
    feedServers.push(tls);
    expect(readFileSync(await resolveFeedSource(options(`${tls.url}/r`, temp()))).equals(feeds.good)).toBe(true);
    expect(target.requests).toBe(1);
    tls.behaviour = { kind: 'redirect', location: `${plain.url}/provenance.feed` };
    const downgrade = await failure(resolveFeedSource(options(`${tls.url}/r`, temp())));
    expect(downgrade.code).toBe('ERR_PG_FEED_INSECURE');
    expect(plain.seen).toHaveLength(0);
  });

  it('gives up on a server that does not answer, or stops mid-body, within timeoutMs (ERR_PG_FEED_DOWNLOAD)', async () => {
    const s = await serve(() => {});
    const cache = temp();
    const url = `${s.url}/provenance.feed`;
    const started = Date.now();
    const silent = await failure(resolveFeedSource(options(url, cache, { timeoutMs: 300 })));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(silent.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(silent.message).toContain('0.3 s');
    expect(silent.message).toContain(url);
    const stall: Served['handler'] = (_req, res) => {
      res.writeHead(200, { 'content-length': String(feeds.good.length) });
      res.write(feeds.good.subarray(0, feeds.good.length >> 1));
    };
    s.handler = stall;
    const stalled = await failure(resolveFeedSource(options(url, cache, { timeoutMs: 400 })));
    expect(stalled.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(stalled.message).toMatch(/did not complete within 0\.4 s/);
    expect(readdirSync(slotDir(cache, 'url', url))).toEqual([]);
    // With a last good copy, the warning gives the reason in words, not the abort's legacy DOMException number.
    s.handler = body(feeds.good);
    const path = await resolveFeedSource(options(url, cache));
    s.handler = stall;
    const warnings: string[] = [];
    expect(await resolveFeedSource(options(url, cache, { timeoutMs: 400, warnings }))).toBe(path);
    expect(warnings[0]).toMatch(/did not complete within 0\.4 s \([^)]*timeout[^)]*\) \[ERR_PG_FEED_DOWNLOAD\]/);
    expect(warnings[0]).not.toMatch(/\(\d+\)/);
  });

  it('refuses a body cut short as a download error, not as a corrupt feed', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(feeds.good.length) });
      res.write(feeds.good.subarray(0, feeds.good.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const cache = temp();
    const url = `${s.url}/provenance.feed`;
    const cut = await failure(resolveFeedSource(options(url, cache)));
    expect(cut.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(cut.message).toContain(url);
    // It did not time out: the message must not say so.
    expect(cut.message).not.toContain('within');
    expect(readdirSync(slotDir(cache, 'url', url))).toEqual([]);
  });

  it('names the network failure and keeps it as the cause when the server is down (ERR_PG_FEED_DOWNLOAD)', async () => {
    const s = await serve(status(200));
    const url = `${s.url}/provenance.feed`;
    await s.close();
    const down = await failure(resolveFeedSource(options(url, temp())));
    expect(down.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(down.message).toContain(url);
    expect(down.message).toContain('(ECONNREFUSED)');
    expect(down.cause).toBeInstanceOf(Error);
  });

  it('verifies a download against feed.publicKeys, feed.minSerial, the clock and the accepted serial before keeping it', async () => {
    const s = await serve(body(feeds.unpinned));
    const cache = temp();
    const url = `${s.url}/provenance.feed`;
    const unpinned = await failure(resolveFeedSource(options(url, cache)));
    expect(unpinned.code).toBe('ERR_PG_FEED_KEY');
    expect(unpinned.file).toBe(url);
    expect(readdirSync(slotDir(cache, 'url', url))).toEqual([]);
    expect(existsSync(join(cache, 'feed-state.json'))).toBe(false);

    s.handler = body(feeds.good);
    expect((await failure(resolveFeedSource(options(url, cache, { minSerial: 11 })))).code).toBe('ERR_PG_FEED_ROLLBACK');
    expect((await failure(resolveFeedSource(options(url, cache, { now: new Date(Date.now() + 40 * DAY) })))).code).toBe('ERR_PG_FEED_EXPIRED');
    expect((await failure(resolveFeedSource(options(url, cache, { now: new Date(Date.now() - DAY) })))).code).toBe('ERR_PG_FEED_FUTURE');
    expect(readdirSync(slotDir(cache, 'url', url))).toEqual([]);
    expect(readFileSync(await resolveFeedSource(options(url, cache, { minSerial: 10 }))).equals(feeds.good)).toBe(true);

    // A second cache has accepted serial 11 already: serial 10 is a rollback, by the label of its URL.
    const ahead = temp();
    s.handler = body(feeds.newer);
    await resolveFeedSource(options(url, ahead));
    rmSync(join(slotDir(ahead, 'url', url), 'provenance.feed'));
    s.handler = body(feeds.good);
    const rollback = await failure(resolveFeedSource(options(url, ahead)));
    expect(rollback.code).toBe('ERR_PG_FEED_ROLLBACK');
    expect(rollback.file).toBe(url);
  });

  it('keeps the last good copy through a failed update, and says which failure, code and copy', async () => {
    const s = await serve(body(feeds.good));
    const cache = temp();
    const url = `${s.url}/provenance.feed`;
    const fetchedAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
    const path = await resolveFeedSource(options(url, cache, { now: fetchedAt }));
    const warnings: string[] = [];
    const again = (handler: Served['handler'], extra: Partial<ResolveFeedOptions> = {}) => {
      s.handler = handler;
      return resolveFeedSource(options(url, cache, { warnings, ...extra }));
    };
    expect(await again(status(500))).toBe(path);
    expect(warnings.at(-1)).toContain(`could not update the feed from ${url}: `);
    // The reason, then our code, then what is used instead.
    expect(warnings.at(-1)).toMatch(/answered 500 [A-Za-z ]*\[ERR_PG_FEED_DOWNLOAD\]; using the last good copy/);
    expect(warnings.at(-1)).toContain(`fetched ${fetchedAt.toISOString()}`);
    expect(warnings.at(-1)).toContain(`(${path})`);
    expect(await again(body(feeds.older))).toBe(path);
    expect(warnings.at(-1)).toContain('[ERR_PG_FEED_ROLLBACK]');
    expect(await again(body(feeds.unpinned))).toBe(path);
    expect(warnings.at(-1)).toContain('[ERR_PG_FEED_KEY]');
    expect(await again(status(302, { location: 'http://127.0.0.2:9/x' }))).toBe(path);
    expect(warnings.at(-1)).toContain('[ERR_PG_FEED_INSECURE]');
    expect(await again(() => {}, { timeoutMs: 200 })).toBe(path);
    expect(warnings.at(-1)).toContain('timeout; using the last good copy');
    expect(readFileSync(path).equals(feeds.good)).toBe(true);
    expect(readdirSync(join(path, '..')).sort()).toEqual(['meta.json', 'provenance.feed']);
    for (const warning of warnings) expect(warning).not.toMatch(/undefined|null/);
    // Without meta.json the copy was fetched "earlier"; a network error has no code of ours.
    rmSync(join(path, '..', 'meta.json'));
    await s.close();
    expect(await resolveFeedSource(options(url, cache, { warnings }))).toBe(path);
    expect(warnings.at(-1)).toContain('fetched earlier');
    expect(warnings.at(-1)).toMatch(/\(ECONNREFUSED\); using the last good copy/);
    expect(warnings).toHaveLength(6);
  });

  it('warns on stderr by default, prefixed with provenance-guard', async () => {
    const s = await serve(body(feeds.good));
    const cache = temp();
    const url = `${s.url}/provenance.feed`;
    const path = await resolveFeedSource(options(url, cache));
    s.handler = status(503);
    const { warn: _w, ...quiet } = options(url, cache);
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await resolveFeedSource(quiet)).toBe(path);
    } finally {
      process.stderr.write = original;
    }
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^provenance-guard: could not update the feed from .*answered 503.*\n$/s);
  });

  it('offline: the cached copy without a request, else ERR_PG_FEED_OFFLINE naming the URL', async () => {
    const s = await serve(body(feeds.good));
    const cache = temp();
    const url = `${s.url}/provenance.feed`;
    const offline = await failure(resolveFeedSource(options(url, cache, { offline: true })));
    expect(offline.code).toBe('ERR_PG_FEED_OFFLINE');
    expect(offline.message).toContain(url);
    expect(existsSync(join(cache, 'feeds'))).toBe(false);
    const path = await resolveFeedSource(options(url, cache));
    expect(await resolveFeedSource(options(url, cache, { offline: true }))).toBe(path);
    expect(s.seen).toHaveLength(1);
  });

  it('sweeps the temp files a killed download left in its slot', async () => {
    const s = await serve(body(feeds.good));
    const cache = temp();
    const url = `${s.url}/provenance.feed`;
    const dir = slotDir(cache, 'url', url);
    mkdirSync(dir, { recursive: true });
    const left = join(dir, '.provenance.feed.999999999.0badf00d.tmp');
    writeFileSync(left, 'half');
    await resolveFeedSource(options(url, cache));
    expect(existsSync(left)).toBe(false);
  });

  it('caches under PROVENANCE_GUARD_CACHE_DIR of the environment given (or of process.env) when no cacheDir is given', async () => {
    const s = await serve(body(feeds.good));
    const url = `${s.url}/provenance.feed`;
    const cache = temp();
    const { cacheDir: _c, ...rest } = options(url, cache);
    expect(await resolveFeedSource({ ...rest, env: { PROVENANCE_GUARD_CACHE_DIR: cache } })).toBe(join(slotDir(cache, 'url', url), 'provenance.feed'));
    const viaProcess = temp();
    const saved = process.env.PROVENANCE_GUARD_CACHE_DIR;
    process.env.PROVENANCE_GUARD_CACHE_DIR = viaProcess;
    try {
      expect(await resolveFeedSource(rest)).toBe(join(slotDir(viaProcess, 'url', url), 'provenance.feed'));
    } finally {
      if (saved === undefined) delete process.env.PROVENANCE_GUARD_CACHE_DIR;
      else process.env.PROVENANCE_GUARD_CACHE_DIR = saved;
    }
  });
});

/** A small npm registry on 127.0.0.1 answering pacote: packuments and tarballs, nothing else. */
interface MiniRegistry extends Served {
  publish(name: string, version: string, files: Record<string, string | Buffer>): Promise<{ integrity: string }>;
  /** Requests for packuments and for tarballs. */
  counts(): { packuments: number; tarballs: number };
  /** The next tarballs served are these bytes instead (a tampering mirror). */
  tamper?: Buffer;
}

async function miniRegistry(token?: string): Promise<MiniRegistry> {
  const packuments = new Map<string, { name: string; 'dist-tags': Record<string, string>; versions: Record<string, unknown> }>();
  const tarballs = new Map<string, Buffer>();
  let registry: MiniRegistry;
  const served = await serve((req, res) => {
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!.slice(1));
    const tarball = tarballs.get(path);
    if (tarball) return body(registry.tamper ?? tarball, { 'content-type': 'application/octet-stream' })(req, res);
    const doc = packuments.get(path);
    if (!doc) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    body(Buffer.from(JSON.stringify(doc)), { 'content-type': 'application/json' })(req, res);
  });
  registry = served as MiniRegistry;
  registry.publish = async (name, version, files) => {
    const manifest = { name, version };
    const data = await pack({ 'package.json': JSON.stringify(manifest), ...files });
    const integrity = 'sha512-' + createHash('sha512').update(data).digest('base64');
    const file = `tarballs/${name}/-/${name.split('/').at(-1)}-${version}.tgz`;
    tarballs.set(file, data);
    const doc = packuments.get(name) ?? { name, 'dist-tags': {}, versions: {} };
    doc.versions[version] = { ...manifest, dist: { integrity, tarball: `${registry.url}/${file}` } };
    doc['dist-tags'].latest = version;
    packuments.set(name, doc);
    return { integrity };
  };
  registry.counts = () => ({
    packuments: registry.seen.filter((r) => !r.url.startsWith('/tarballs/')).length,
    tarballs: registry.seen.filter((r) => r.url.startsWith('/tarballs/')).length,
  });
  return registry;
}

describe('feed.source as an npm package (a registry on 127.0.0.1)', () => {
  const name = '@pg-fixture/feed';
  function project(registryUrl: string, npmrc = ''): string {
    const root = temp();
    writeFileSync(join(root, '.npmrc'), `registry=${registryUrl}/\n${npmrc}`);
    return root;
  }
  const npmOptions = (root: string, source: string, cache: string, extra: Partial<ResolveFeedOptions> & { warnings?: string[] } = {}) =>
    options(source, cache, { rootDir: root, env: { HOME: root }, ...extra });

  it('fetches the package into its cache slot, writes meta.json, records the serial and leaves no work dir', async () => {
    const r = await miniRegistry();
    const { integrity } = await r.publish(name, '1.0.0', { 'provenance.feed': feeds.good });
    const root = project(r.url);
    const cache = temp();
    const now = new Date(Date.now() + 60_000);
    const spec = `${name}@^1`;
    const path = await resolveFeedSource(npmOptions(root, spec, cache, { now, timeoutMs: 5000 }));
    const dir = slotDir(cache, 'npm', `${r.url}/\n${spec}`);
    expect(path).toBe(join(dir, 'provenance.feed'));
    expect(readFileSync(path).equals(feeds.good)).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'))).toEqual({ source: spec, version: '1.0.0', fetchedAt: now.toISOString(), integrity, mac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(readdirSync(dir).sort()).toEqual(['meta.json', 'provenance.feed']);
    expect(readFeedState(cache).serials[id]).toMatchObject({ serial: 10, acceptedAt: now.toISOString() });
    expect(r.counts().tarballs).toBe(1);
  });

  it('does not download the same version and integrity again; a new version, another integrity or a lost copy is fetched', async () => {
    const r = await miniRegistry();
    await r.publish(name, '1.0.0', { 'provenance.feed': feeds.good });
    const root = project(r.url);
    const cache = temp();
    const spec = `${name}@^1`;
    const warnings: string[] = [];
    const path = await resolveFeedSource(npmOptions(root, spec, cache, { warnings }));
    expect(await resolveFeedSource(npmOptions(root, spec, cache, { warnings }))).toBe(path);
    expect(r.counts().tarballs).toBe(1);
    const metaPath = join(path, '..', 'meta.json');
    const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
    writeFileSync(metaPath, JSON.stringify({ ...meta, integrity: 'sha512-other' }));
    await resolveFeedSource(npmOptions(root, spec, cache, { warnings }));
    expect(r.counts().tarballs).toBe(2);
    writeFileSync(metaPath, JSON.stringify({ ...meta, version: '0.9.0' }));
    await resolveFeedSource(npmOptions(root, spec, cache, { warnings }));
    expect(r.counts().tarballs).toBe(3);
    rmSync(path);
    expect(readFileSync(await resolveFeedSource(npmOptions(root, spec, cache, { warnings }))).equals(feeds.good)).toBe(true);
    expect(r.counts().tarballs).toBe(4);
    rmSync(metaPath);
    expect(await resolveFeedSource(npmOptions(root, spec, cache, { warnings }))).toBe(path);
    expect(r.counts().tarballs).toBe(5);
    await r.publish(name, '1.1.0', { 'provenance.feed': feeds.newer });
    expect(readFileSync(await resolveFeedSource(npmOptions(root, spec, cache, { warnings }))).equals(feeds.newer)).toBe(true);
    expect(JSON.parse(readFileSync(metaPath, 'utf8')).version).toBe('1.1.0');
    expect(warnings).toEqual([]);
  });

  it('refuses a package without provenance.feed at its root (ERR_PG_FEED_NOT_FOUND), and keeps the last good copy', async () => {
    const r = await miniRegistry();
    await r.publish(name, '1.0.0', { 'feeds/provenance.feed': feeds.good });
    const root = project(r.url);
    const cache = temp();
    const spec = `${name}@^1`;
    const missing = await failure(resolveFeedSource(npmOptions(root, spec, cache)));
    expect(missing.code).toBe('ERR_PG_FEED_NOT_FOUND');
    expect(missing.message).toContain(`${name}@1.0.0`);
    expect(readdirSync(slotDir(cache, 'npm', `${r.url}/\n${spec}`))).toEqual([]);
    await r.publish(name, '1.1.0', { 'provenance.feed': feeds.good });
    const path = await resolveFeedSource(npmOptions(root, spec, cache));
    await r.publish(name, '1.2.0', {});
    const warnings: string[] = [];
    expect(await resolveFeedSource(npmOptions(root, spec, cache, { warnings }))).toBe(path);
    expect(warnings[0]).toContain(`could not update the feed from npm package ${spec} (${r.url}/)`);
    expect(warnings[0]).toContain('[ERR_PG_FEED_NOT_FOUND]');
  });

  it('verifies the feed of a package before keeping it: the label names the package version', async () => {
    const r = await miniRegistry();
    await r.publish(name, '2.0.0', { 'provenance.feed': feeds.unpinned });
    const root = project(r.url);
    const cache = temp();
    const error = await failure(resolveFeedSource(npmOptions(root, name, cache)));
    expect(error.code).toBe('ERR_PG_FEED_KEY');
    expect(error.file).toBe(`provenance.feed of ${name}@2.0.0`);
    expect(readdirSync(slotDir(cache, 'npm', `${r.url}/\n${name}`))).toEqual([]);
    expect(existsSync(join(cache, 'feed-state.json'))).toBe(false);
  });

  it('refuses a tarball that does not match the integrity the registry published', async () => {
    const r = await miniRegistry();
    await r.publish(name, '1.0.0', { 'provenance.feed': feeds.good });
    r.tamper = await pack({ 'package.json': JSON.stringify({ name, version: '1.0.0' }), 'provenance.feed': feeds.newer });
    const cache = temp();
    const error = await failure(resolveFeedSource(npmOptions(project(r.url), name, cache)));
    expect(error.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(existsSync(join(cache, 'feed-state.json'))).toBe(false);
  });

  it('wraps registry failures as ERR_PG_FEED_DOWNLOAD naming the package and registry, without retrying', async () => {
    const r = await miniRegistry();
    const root = project(r.url);
    const spec = `${name}@^1`;
    const absent = await failure(resolveFeedSource(npmOptions(root, spec, temp())));
    expect(absent.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(absent.message).toContain(`cannot fetch the feed from npm package ${spec} (${r.url}/)`);
    expect(absent.cause).toBeInstanceOf(Error);
    r.handler = status(500);
    r.seen.length = 0;
    const failing = await failure(resolveFeedSource(npmOptions(root, spec, temp(), { timeoutMs: 3000 })));
    expect(failing.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(failing.message).toMatch(/\b500 Internal Server Error\b/);
    expect(r.seen).toHaveLength(1);
  });

  it('gives up on a registry that does not answer within timeoutMs, and clears its deadline when it does', async () => {
    const r = await miniRegistry();
    await r.publish(name, '1.0.0', { 'provenance.feed': feeds.good });
    const root = project(r.url);
    // Answered within the deadline: every timer set for it is cleared, none keeps a hook's process alive for a minute.
    const set = vi.spyOn(globalThis, 'setTimeout');
    const clear = vi.spyOn(globalThis, 'clearTimeout');
    try {
      await resolveFeedSource(npmOptions(root, name, temp(), { timeoutMs: 60_007 }));
      const deadlines = set.mock.results.filter((_, i) => set.mock.calls[i]![1] === 60_007).map((result) => result.value as unknown);
      expect(deadlines.length).toBeGreaterThan(0);
      const cleared = new Set(clear.mock.calls.map((call) => call[0] as unknown));
      for (const timer of deadlines) expect(cleared.has(timer)).toBe(true);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
    r.handler = () => {};
    const started = Date.now();
    const error = await failure(resolveFeedSource(npmOptions(root, name, temp(), { timeoutMs: 300 })));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.code).toBe('ERR_PG_FEED_DOWNLOAD');
    expect(error.message).toMatch(/npm package @pg-fixture\/feed .*did not answer within 0\.3 s/);
  });

  it('uses the .npmrc settings for the registry: a scoped registry and its token', async () => {
    const r = await miniRegistry('s3cret');
    await r.publish(name, '1.0.0', { 'provenance.feed': feeds.good });
    const host = r.url.replace(/^http:/, '');
    const root = project('http://127.0.0.1:9', `@pg-fixture:registry=${r.url}/\n${host}/:_authToken=s3cret\n`);
    const cache = temp();
    const path = await resolveFeedSource(npmOptions(root, name, cache));
    expect(path).toBe(join(slotDir(cache, 'npm', `${r.url}/\n${name}`), 'provenance.feed'));
    expect(r.seen.every((s) => s.headers.authorization === 'Bearer s3cret')).toBe(true);
  });

  it('sweeps the temp files a killed fetch left in its slot', async () => {
    const r = await miniRegistry();
    await r.publish(name, '1.0.0', { 'provenance.feed': feeds.good });
    const root = project(r.url);
    const cache = temp();
    const dir = slotDir(cache, 'npm', `${r.url}/\n${name}`);
    mkdirSync(join(dir, '.fetch.999999999.0badf00d.tmp', 'package'), { recursive: true });
    await resolveFeedSource(npmOptions(root, name, cache));
    expect(readdirSync(dir).sort()).toEqual(['meta.json', 'provenance.feed']);
  });

  it('offline: the cached copy, else ERR_PG_FEED_OFFLINE naming the package and the installed copies skipped', async () => {
    const r = await miniRegistry();
    await r.publish(name, '1.0.0', { 'provenance.feed': feeds.good });
    const root = project(r.url);
    const cache = temp();
    const spec = `${name}@^1`;
    const none = await failure(resolveFeedSource(npmOptions(root, spec, cache, { offline: true })));
    expect(none.code).toBe('ERR_PG_FEED_OFFLINE');
    expect(none.message).toContain(`npm package ${spec} (${r.url}/)`);
    expect(none.message).toMatch(/\(run once online to fetch it\)$/);
    expect(r.seen).toHaveLength(0);
    const path = await resolveFeedSource(npmOptions(root, spec, cache));
    const before = r.seen.length;
    expect(await resolveFeedSource(npmOptions(root, spec, cache, { offline: true }))).toBe(path);
    expect(r.seen).toHaveLength(before);
  });
});

describe('feed.source as an npm package installed in the project', () => {
  const name = '@pg-fixture/feed';
  function install(dir: string, manifest: unknown, feed = true): string {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    if (feed) writeFileSync(join(dir, 'provenance.feed'), dir);
    return join(dir, 'provenance.feed');
  }
  const offline = (root: string, source: string) => ({ source, rootDir: root, offline: true, cacheDir: temp(), stateDir: temp(), publicKeys: [], env: { HOME: root, npm_config_registry: 'http://127.0.0.1:9/' } });

  it('never takes a copy of another package, whatever its version', async () => {
    const root = temp();
    install(join(root, 'node_modules', name), { name: '@pg-fixture/other', version: '1.0.0' });
    install(join(root, 'node_modules/.pnpm-config', name), { name: 'feed', version: '1.0.0' });
    expect((await failure(resolveFeedSource(offline(root, `${name}@^1`)))).code).toBe('ERR_PG_FEED_OFFLINE');
  });

  it('lists every copy skipped for its version, one after the other', async () => {
    const root = temp();
    install(join(root, 'node_modules/.pnpm-config', name), { name, version: '2.0.0' });
    install(join(root, 'node_modules', name), { name, version: '3.0.0' });
    const error = await failure(resolveFeedSource(offline(root, `${name}@^1`)));
    expect(error.message).toContain(
      `; ${join(root, 'node_modules/.pnpm-config', name)} is version 2.0.0, which does not satisfy ^1; ${join(root, 'node_modules', name)} is version 3.0.0, which does not satisfy ^1`,
    );
  });

  it('prefers the pnpm config dependency when both copies fit', async () => {
    const root = temp();
    const config = install(join(root, 'node_modules/.pnpm-config', name), { name, version: '1.0.0' });
    install(join(root, 'node_modules', name), { name, version: '1.0.0' });
    expect(await resolveFeedSource(offline(root, `${name}@1.0.0`))).toBe(config);
    expect(await resolveFeedSource(offline(root, `${name}@1`))).toBe(config);
  });

  it('skips a copy without provenance.feed, with an unreadable package.json, or another name, and names only version mismatches', async () => {
    const root = temp();
    install(join(root, 'node_modules/.pnpm-config', name), { name, version: '1.0.0' }, false);
    install(join(root, 'node_modules', name), '{ not json');
    const error = await failure(resolveFeedSource(offline(root, `${name}@^1`)));
    expect(error.code).toBe('ERR_PG_FEED_OFFLINE');
    expect(error.message).toMatch(/\(run once online to fetch it\)$/);

    const plain = install(join(root, 'node_modules', name), { name, version: '1.0.0' });
    install(join(root, 'node_modules/.pnpm-config', name), '[]');
    expect(await resolveFeedSource(offline(root, `${name}@^1`))).toBe(plain);

    const noVersion = temp();
    install(join(noVersion, 'node_modules', name), { name, version: 2 });
    const skipped = await failure(resolveFeedSource(offline(noVersion, `${name}@^1`)));
    expect(skipped.message).toContain(`${join(noVersion, 'node_modules', name)} is version (none), which does not satisfy ^1`);
  });

  it('never takes an installed copy for a dist-tag, and does not list it as skipped', async () => {
    const root = temp();
    install(join(root, 'node_modules', name), { name, version: '1.0.0' });
    const tagged = await failure(resolveFeedSource(offline(root, `${name}@latest`)));
    expect(tagged.code).toBe('ERR_PG_FEED_OFFLINE');
    expect(tagged.message).not.toContain(join(root, 'node_modules'));
  });

  it('refuses specs that do not parse or are not registry packages (ERR_PG_FEED_SOURCE_INVALID), naming the spec', async () => {
    const root = temp();
    for (const source of ['feed@%', 'npm:npm:feed@1', 'github:acme/feed', 'npm:./feed', 'file:feed/x', 'git+ssh://git@host/feed.git']) {
      const error = await failure(resolveFeedSource(offline(root, source)));
      expect(error.code, source).toBe('ERR_PG_FEED_SOURCE_INVALID');
      expect(error.message, source).toContain(JSON.stringify(source.replace(/^npm:/, '')));
    }
    // A URL feed source stays one (offline: no cached copy) rather than an npm remote spec.
    expect((await failure(resolveFeedSource(offline(root, 'http://127.0.0.1:9/provenance.feed')))).code).toBe('ERR_PG_FEED_OFFLINE');
  });
});
