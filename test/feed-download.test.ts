/**
 * Downloaded feeds against fault servers on 127.0.0.1 (issue 9 items 2, 8, 9): a download
 * replaces the cached copy only once it verified completely; nothing is lost (the last good
 * feed survives every fault); a feed that did not verify never moves the accepted serial;
 * redirects never go to plain http; downloads are bounded in time and leave no temp files.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sweepStaleTemps } from '../src/atomic';
import { keyId, parsePublicKey } from '../src/feed/keys';
import { openFeed } from '../src/feed/reader';
import { FEED_DOWNLOAD_TIMEOUT_MS, resolveFeedSource, type ResolveFeedOptions } from '../src/feed/source';
import { buildTestFeed, feedRejection as rejection, makeKeys, sampleRecords, tempDir, type TestKeys } from './helpers/feed-fixtures';
import { startFeedServer, type Behaviour, type FeedServer } from './helpers/feed-server';

const made: string[] = [];
function dir(prefix = 'pg-dl-'): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}

let keys: TestKeys;
const feeds: Record<string, Buffer> = {};
const work = tempDir('pg-dl-feeds-');

beforeAll(async () => {
  keys = makeKeys(join(work, 'keys'));
  const other = makeKeys(join(work, 'other-keys'));
  const day = 86_400_000;
  const build = async (name: string, k: TestKeys, count: number, extra: Parameters<typeof buildTestFeed>[3]) => {
    feeds[name] = readFileSync(await buildTestFeed(k, sampleRecords(count, name), join(work, `${name}.feed`), extra));
  };
  await build('good', keys, 30, { serial: 1000 });
  await build('newer', keys, 31, { serial: 1001 });
  await build('older', keys, 29, { serial: 999 });
  await build('sameSerialOther', keys, 32, { serial: 1000 });
  await build('unpinned', other, 30, { serial: 2000 });
  await build('expired', keys, 30, { serial: 1500, now: new Date(Date.now() - 40 * day) });
  await build('future', keys, 30, { serial: 1600, now: new Date(Date.now() + day) });
  // The wedge: a forged header with a huge serial (its signature cannot verify).
  feeds.forgedHugeSerial = Buffer.from(feeds.newer!.toString('latin1').replace('"serial":1001', '"serial":9999999999'), 'latin1');
  expect(feeds.forgedHugeSerial.equals(feeds.newer!)).toBe(false);
});

const servers: FeedServer[] = [];
async function server(behaviour: Behaviour, options: { https?: boolean } = {}): Promise<FeedServer> {
  const s = await startFeedServer(behaviour, options);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function options(source: string, cacheDir: string, warnings: string[] = [], extra: Partial<ResolveFeedOptions> = {}): ResolveFeedOptions {
  return { source, rootDir: cacheDir, offline: false, cacheDir, stateDir: cacheDir, publicKeys: [keys.publicKey], warn: (m) => warnings.push(m), ...extra };
}

/** Every file in the feed slots of a cache (temp files included). */
function slotFiles(cacheDir: string): string[] {
  const root = join(cacheDir, 'feeds');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((slot) => readdirSync(join(root, slot)).map((f) => `${slot}/${f}`.replace(/^[^/]+\//, '')));
}

function acceptedSerial(cacheDir: string): number | undefined {
  const path = join(cacheDir, 'feed-state.json');
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')).serials[keyId(parsePublicKey(keys.publicKey))]?.serial;
}

describe('a download replaces the cached copy only after it verified', () => {
  it('keeps the last good feed through every fault, and a forged huge serial wedges no later feed', async () => {
    const s = await server({ kind: 'serve', body: feeds.good!, etag: '"good"' });
    const cache = dir();
    const warnings: string[] = [];
    const path = await resolveFeedSource(options(s.feedUrl, cache, warnings));
    expect(readFileSync(path).equals(feeds.good!)).toBe(true);
    expect(acceptedSerial(cache)).toBe(1000);

    const faults: [string, Behaviour, RegExp][] = [
      ['unpinned key', { kind: 'serve', body: feeds.unpinned! }, /\[ERR_PG_FEED_KEY\]/],
      ['expired', { kind: 'serve', body: feeds.expired! }, /\[ERR_PG_FEED_EXPIRED\]/],
      ['future-dated', { kind: 'serve', body: feeds.future! }, /\[ERR_PG_FEED_FUTURE\]/],
      ['forged huge serial', { kind: 'serve', body: feeds.forgedHugeSerial! }, /\[ERR_PG_FEED_SIGNATURE\]/],
      ['same serial, other content', { kind: 'serve', body: feeds.sameSerialOther! }, /\[ERR_PG_FEED_SERIAL_REUSED\]/],
      ['older serial', { kind: 'serve', body: feeds.older! }, /\[ERR_PG_FEED_ROLLBACK\]/],
      ['not a feed', { kind: 'serve', body: Buffer.from('<html>captive portal</html>') }, /is not a provenance-guard feed/],
      ['server error', { kind: 'status', status: 503 }, /answered 503/],
      ['redirect to plain http', { kind: 'redirect', location: 'http://feeds.example.com/provenance.feed' }, /\[ERR_PG_FEED_INSECURE\]/],
      ['cut mid-download', { kind: 'cut', body: feeds.newer! }, /could not update/],
    ];
    for (const [what, behaviour, warning] of faults) {
      s.behaviour = behaviour;
      warnings.length = 0;
      const got = await resolveFeedSource(options(s.feedUrl, cache, warnings));
      expect(got, what).toBe(path);
      expect(readFileSync(got).equals(feeds.good!), what).toBe(true);
      expect(warnings, what).toHaveLength(1);
      expect(warnings[0], what).toMatch(warning);
      expect(warnings[0], what).toMatch(/using the last good copy/);
      expect(warnings[0], what).not.toMatch(/\.tmp/);
      expect(slotFiles(cache).sort(), what).toEqual(['meta.json', 'provenance.feed']);
      expect(acceptedSerial(cache), what).toBe(1000);
      openFeed(got, { publicKeys: [keys.publicKey], stateDir: cache }).close();
    }

    // The next legitimate feed is taken at once.
    s.behaviour = { kind: 'serve', body: feeds.newer!, etag: '"newer"' };
    expect(readFileSync(await resolveFeedSource(options(s.feedUrl, cache, warnings))).equals(feeds.newer!)).toBe(true);
    expect(acceptedSerial(cache)).toBe(1001);
  });

  it('fails closed, caching nothing and recording nothing, when there is no last good copy', async () => {
    const s = await server({ kind: 'serve', body: feeds.good! });
    const cases: [string, Behaviour, string, Partial<ResolveFeedOptions>?][] = [
      ['unpinned key', { kind: 'serve', body: feeds.unpinned! }, 'ERR_PG_FEED_KEY'],
      ['expired', { kind: 'serve', body: feeds.expired! }, 'ERR_PG_FEED_EXPIRED'],
      ['future-dated', { kind: 'serve', body: feeds.future! }, 'ERR_PG_FEED_FUTURE'],
      ['forged huge serial', { kind: 'serve', body: feeds.forgedHugeSerial! }, 'ERR_PG_FEED_SIGNATURE'],
      ['below feed.minSerial', { kind: 'serve', body: feeds.good! }, 'ERR_PG_FEED_ROLLBACK', { minSerial: 1001 }],
      ['redirect to plain http', { kind: 'redirect', location: 'http://feeds.example.com/provenance.feed' }, 'ERR_PG_FEED_INSECURE'],
    ];
    for (const [what, behaviour, code, extra] of cases) {
      s.behaviour = behaviour;
      const cache = dir();
      const error = await rejection(resolveFeedSource(options(s.feedUrl, cache, [], extra)));
      expect(error.code, what).toBe(code);
      expect(error.message, what).toContain(s.feedUrl);
      expect(error.message, what).not.toMatch(/\.tmp/);
      expect(slotFiles(cache), what).toEqual([]);
      expect(existsSync(join(cache, 'feed-state.json')), what).toBe(false);
    }
    const plain = await rejection(resolveFeedSource(options('http://feeds.example.com/provenance.feed', dir())));
    expect(plain.code).toBe('ERR_PG_FEED_INSECURE');
  });

  it('refuses a feed reusing an accepted serial with other content, from any source', async () => {
    const s = await server({ kind: 'serve', body: feeds.good! });
    const cache = dir();
    await resolveFeedSource(options(s.feedUrl, cache));
    s.behaviour = { kind: 'serve', body: feeds.sameSerialOther! };
    const mirror = await server({ kind: 'serve', body: feeds.sameSerialOther! });
    const error = await rejection(resolveFeedSource(options(mirror.feedUrl, cache)));
    expect(error.code).toBe('ERR_PG_FEED_SERIAL_REUSED');
  });
});

describe('redirects over https', () => {
  it('follows https redirects, refuses one to plain http (even to 127.0.0.1), and keeps the last good copy', async () => {
    const plain = await server({ kind: 'serve', body: feeds.newer! });
    const secure = await server({ kind: 'serve', body: feeds.good! }, { https: true });
    const cache = dir();
    const warnings: string[] = [];
    const path = await resolveFeedSource(options(secure.feedUrl, cache, warnings));
    expect(readFileSync(path).equals(feeds.good!)).toBe(true);

    secure.behaviour = { kind: 'redirect', location: plain.feedUrl };
    expect(readFileSync(await resolveFeedSource(options(secure.feedUrl, cache, warnings))).equals(feeds.good!)).toBe(true);
    expect(warnings.at(-1)).toMatch(/redirected to http:\/\/127\.0\.0\.1:\d+\/provenance\.feed: refused.*\[ERR_PG_FEED_INSECURE\]/);
    expect(plain.requests).toBe(0);
    const fresh = await rejection(resolveFeedSource(options(secure.feedUrl, dir())));
    expect(fresh.code).toBe('ERR_PG_FEED_INSECURE');
    expect(plain.requests).toBe(0);

    const other = await server({ kind: 'serve', body: feeds.newer! }, { https: true });
    secure.behaviour = { kind: 'redirect', location: other.feedUrl };
    expect(readFileSync(await resolveFeedSource(options(secure.feedUrl, cache, warnings))).equals(feeds.newer!)).toBe(true);
  });
});

describe('no temporary file is left behind', () => {
  it('sweeps the half-written download of a process killed mid-download; the last good copy survives', async () => {
    const s = await server({ kind: 'serve', body: feeds.good! });
    const cache = dir();
    const path = await resolveFeedSource(options(s.feedUrl, cache));
    s.behaviour = { kind: 'stall', body: feeds.newer! };
    const script = join(dir('pg-dl-child-'), 'download.cjs');
    const entry = `
      import { resolveFeedSource } from ${JSON.stringify(resolve(__dirname, '../src/feed/source'))};
      const [source, cacheDir, publicKey] = process.argv.slice(2);
      resolveFeedSource({ source: source!, rootDir: cacheDir!, offline: false, cacheDir, stateDir: cacheDir, publicKeys: [publicKey!] });
    `;
    buildSync({ stdin: { contents: entry, resolveDir: __dirname, loader: 'ts' }, outfile: script, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning', external: ['pacote'] });
    const child = spawn(process.execPath, [script, s.feedUrl, cache, keys.publicKey], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 15_000;
    while (!slotFiles(cache).some((f) => f.endsWith('.tmp')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await exited;
    expect(slotFiles(cache).filter((f) => f.endsWith('.tmp'))).toHaveLength(1);

    s.behaviour = { kind: 'status', status: 500 };
    const warnings: string[] = [];
    expect(await resolveFeedSource(options(s.feedUrl, cache, warnings))).toBe(path);
    expect(slotFiles(cache).sort()).toEqual(['meta.json', 'provenance.feed']);
    expect(readFileSync(path).equals(feeds.good!)).toBe(true);
  });

  it('sweeps temp files of dead or long-gone writers only', async () => {
    const d = dir();
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.once('exit', r));
    const names = {
      dead: `.provenance.feed.${dead.pid}.0a1b2c3d.tmp`,
      live: `.provenance.feed.${process.pid}.0a1b2c3d.tmp`,
      oldLive: `.meta.json.${process.ppid}.0a1b2c3d.tmp`,
      deadDir: `.fetch.${dead.pid}.deadbeef.tmp`,
      notOurs: 'notes.tmp',
    };
    for (const name of Object.values(names)) writeFileSync(join(d, name), 'x');
    rmSync(join(d, names.deadDir));
    mkdirSync(join(d, names.deadDir, 'package'), { recursive: true });
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(d, names.oldLive), old, old);
    const removed = sweepStaleTemps(d).map((p) => p.slice(d.length + 1)).sort();
    expect(removed).toEqual([names.dead, names.deadDir, names.oldLive].sort());
    expect(readdirSync(d).sort()).toEqual([names.live, names.notOurs].sort());
  });
});

describe('downloads are bounded in time (they also run inside install hooks)', () => {
  it(`gives up on a server that never answers within ${FEED_DOWNLOAD_TIMEOUT_MS / 1000} s, inside pnpm's 30 s hook limit`, async () => {
    expect(FEED_DOWNLOAD_TIMEOUT_MS).toBeLessThanOrEqual(20_000);
    const s = await server({ kind: 'hang' });
    const cache = dir();
    const started = Date.now();
    const error = await rejection(resolveFeedSource(options(s.feedUrl, cache)));
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(FEED_DOWNLOAD_TIMEOUT_MS - 500);
    expect(took).toBeLessThan(26_000);
    expect(error.message).toMatch(/no answer within 20 s/);
    expect(slotFiles(cache)).toEqual([]);
  }, 45_000);

  it('uses the last good copy when the server hangs or stalls mid-body', async () => {
    const s = await server({ kind: 'serve', body: feeds.good! });
    const cache = dir();
    const path = await resolveFeedSource(options(s.feedUrl, cache));
    for (const behaviour of [{ kind: 'hang' }, { kind: 'stall', body: feeds.newer! }] as Behaviour[]) {
      s.behaviour = behaviour;
      const warnings: string[] = [];
      const started = Date.now();
      expect(await resolveFeedSource(options(s.feedUrl, cache, warnings, { timeoutMs: 1000 }))).toBe(path);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(warnings[0], behaviour.kind).toMatch(/could not update the feed .*using the last good copy/);
      expect(slotFiles(cache).sort()).toEqual(['meta.json', 'provenance.feed']);
    }
  });

  it('bounds an npm-package feed fetch from a registry that never answers', async () => {
    const s = await server({ kind: 'hang' });
    const root = dir();
    writeFileSync(join(root, '.npmrc'), `registry=${s.url}/\n`);
    const started = Date.now();
    const error = await rejection(resolveFeedSource({ ...options('@pg-fixture/provenance-feed@^1', dir(), [], { timeoutMs: 1500 }), rootDir: root, env: { HOME: root } }));
    expect(Date.now() - started).toBeLessThan(6000);
    expect(error.message).toMatch(/did not answer within 1\.5 s/);
  });
});
